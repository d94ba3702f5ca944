/**
 * Layer normalization over all of an example's features (PyTorch `nn.LayerNorm(shape)` with
 * the example's whole shape): y = γ ⊙ (x − μ)/√(σ² + ε) + β, with μ, σ² per example and a gain
 * and shift per feature. The same in training and evaluation.
 *
 * The per-example statistics are the per-channel kernels applied to the batch viewed as
 * [1, batch, F] (each example a "channel"); the per-feature affine views it as [batch, F, 1].
 */
import { floats, NO_MASK } from '../kernels/backend.js';
import { LAYERNORM_DEFAULTS } from './spec.js';
import { createParam, type Param } from '../tensor/param.js';
import { Activations, NO_GRAD, type Layer, type LayerContext } from './layer.js';

export class LayerNorm implements Layer {
  readonly params: readonly Param[];
  readonly gain: Param;  // γ [shape]
  readonly shift: Param; // β [shape]
  readonly inputSize: number;
  readonly outputSize: number;
  private readonly mean: Float32Array;     // [maxBatch]
  private readonly variance: Float32Array; // [maxBatch]
  private readonly invStd: Float32Array;   // [maxBatch]
  private readonly offset: Float32Array;   // [maxBatch]
  private readonly bias2: Float32Array;    // [maxBatch]
  private readonly sumG: Float32Array;     // [maxBatch]
  private readonly sumGXhat: Float32Array; // [maxBatch]
  private readonly zeros: Float32Array;    // [max(F, maxBatch)]: a zero shift, and a zero center for channelSums
  private readonly xhat: Activations;      // [batch, F]
  private readonly g: Activations;         // [batch, F], dy ⊙ γ
  private readonly y: Activations;
  private readonly dx: Activations;

  constructor(readonly name: string, input: readonly number[], readonly eps: number = LAYERNORM_DEFAULTS.eps, private readonly ctx: LayerContext) {
    this.inputSize = this.outputSize = input.reduce((a, b) => a * b, 1);
    this.gain = createParam(`${name}.weight`, input, 'norm-gain', ctx.backend);
    this.shift = createParam(`${name}.bias`, input, 'norm-shift', ctx.backend);
    this.params = [this.gain, this.shift];
    [this.mean, this.variance, this.invStd, this.offset, this.bias2, this.sumG, this.sumGXhat] =
      Array.from({ length: 7 }, () => floats(ctx.backend, ctx.maxBatch));
    this.zeros = floats(ctx.backend, Math.max(this.inputSize, ctx.maxBatch));
    this.xhat = new Activations(ctx.maxBatch, this.inputSize, ctx.backend);
    this.g = new Activations(ctx.maxBatch, this.inputSize, ctx.backend);
    this.y = new Activations(ctx.maxBatch, this.inputSize, ctx.backend);
    this.dx = new Activations(ctx.maxBatch, this.inputSize, ctx.backend);
  }

  /** γ = 1, β = 0. */
  reset(): void {
    this.gain.value.fill(1);
    this.shift.value.fill(0);
  }

  forward(x: Float32Array, batch: number): Float32Array {
    const { backend } = this.ctx;
    const F = this.inputSize;
    backend.channelMoments(x, 1, batch, F, this.mean, this.variance);
    for (let r = 0; r < batch; r++) {
      this.invStd[r] = 1 / Math.sqrt(this.variance[r] + this.eps);
      this.offset[r] = -this.mean[r] * this.invStd[r];
    }
    const xhat = this.xhat.rows(batch), y = this.y.rows(batch);
    backend.channelAffine(x, 1, batch, F, this.invStd, this.offset, xhat, false);
    backend.channelAffine(xhat, batch, F, 1, this.gain.value, this.shift.value, y, false);
    return y;
  }

  backward(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array {
    const { backend } = this.ctx;
    const F = this.inputSize;
    const xhat = this.xhat.rows(batch);
    // dβ[f] += Σ_r dy, dγ[f] += Σ_r dy·x̂
    backend.channelSums(dy, xhat, batch, F, 1, this.zeros, NO_MASK, this.shift.grad, this.gain.grad);
    if (!needInputGrad) return NO_GRAD;
    // g = dy ⊙ γ; dx = (g − mean_f(g) − x̂·mean_f(g·x̂))/σ per example
    const g = this.g.rows(batch);
    backend.channelAffine(dy, batch, F, 1, this.gain.value, this.zeros, g, false);
    this.sumG.fill(0);
    this.sumGXhat.fill(0);
    backend.channelSums(g, xhat, 1, batch, F, this.zeros, NO_MASK, this.sumG, this.sumGXhat);
    for (let r = 0; r < batch; r++) {
      this.offset[r] = -this.invStd[r] * this.sumGXhat[r] / F;
      this.bias2[r] = -this.invStd[r] * this.sumG[r] / F;
    }
    const dx = this.dx.rows(batch);
    backend.channelCombine(g, xhat, 1, batch, F, this.invStd, this.offset, this.bias2, NO_MASK, dx);
    return dx;
  }
}
