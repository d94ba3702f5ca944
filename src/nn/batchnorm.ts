/**
 * Batch normalization (PyTorch `nn.BatchNorm1d` on flat inputs, `nn.BatchNorm2d` on C×H×W):
 * y = γ·(x − μ)/√(σ² + ε) + β per channel. In training μ and σ² are the batch's (biased
 * variance, over batch × H × W), and the running estimates move by `momentum` toward μ and the
 * *unbiased* batch variance, exactly as PyTorch; in evaluation the running estimates are used.
 *
 * Why it matters here: with BN after a layer, the loss does not change when that layer's
 * weights are scaled, so L2 on them no longer limits capacity; it shrinks ‖w‖ and thereby
 * raises the effective learning rate η/‖w‖² (van Laarhoven 2017; Zhang et al. 2019).
 *
 * Memory traffic is most of this layer's cost (it has no GEMM), so it makes as few passes as
 * it can: forward is the moments plus one affine pass x → y (no normalized copy x̂ is stored:
 * backward reads x itself, which the layer before keeps until the next forward, and centers
 * it on μ inside the float64 sums). A ReLU right after it is fused in (`relu`): the affine
 * pass clamps, and backward masks dy by y > 0 inside its two passes, so the ReLU layer does
 * no work (Sequential arranges this; see FusedActivation).
 */
import { floats, NO_MASK } from '../kernels/backend.js';
import { BATCHNORM_DEFAULTS } from './spec.js';
import { createParam, type ModelBuffer, type Param } from '../tensor/param.js';
import { Activations, NO_GRAD, type Layer, type LayerContext } from './layer.js';

export class BatchNorm implements Layer {
  readonly params: readonly Param[];
  readonly buffers: readonly ModelBuffer[];
  readonly gain: Param;  // γ [C]
  readonly shift: Param; // β [C]
  readonly runningMean: ModelBuffer; // [C]
  readonly runningVar: ModelBuffer;  // [C]
  readonly inputSize: number;
  readonly outputSize: number;
  private readonly channels: number;
  private readonly spatial: number;   // H·W, or 1 for flat inputs
  private readonly mean: Float32Array;     // [C], this batch's (train) or the running one (eval)
  private readonly variance: Float32Array; // [C]
  private readonly invStd: Float32Array;   // [C], 1/√(σ² + ε) of the last forward
  private readonly alpha: Float32Array;    // [C], per-channel coefficients for the one-pass kernels
  private readonly beta: Float32Array;     // [C]
  private readonly gamma: Float32Array;    // [C]
  private readonly sumDy: Float32Array;    // [C]
  private readonly sumDyXc: Float32Array;  // [C], Σ dy·(x − μ)
  private readonly y: Activations;
  private readonly dx: Activations;
  private x: Float32Array = NO_GRAD;       // the last forward's input (the previous layer's buffer)
  private out: Float32Array = NO_GRAD;     // the last forward's output: the fused ReLU's mask
  private trained = false; // the mode of the last forward, which backward differentiates

  constructor(readonly name: string, input: readonly number[], readonly momentum: number = BATCHNORM_DEFAULTS.momentum,
    readonly eps: number = BATCHNORM_DEFAULTS.eps, private readonly ctx: LayerContext, readonly relu = false) {
    this.channels = input[0];
    this.spatial = input.length === 3 ? input[1] * input[2] : 1;
    this.inputSize = this.outputSize = this.channels * this.spatial;
    const C = this.channels;
    this.gain = createParam(`${name}.weight`, [C], 'norm-gain', ctx.backend);
    this.shift = createParam(`${name}.bias`, [C], 'norm-shift', ctx.backend);
    this.params = [this.gain, this.shift];
    this.runningMean = { name: `${name}.running_mean`, shape: [C], value: new Float32Array(C) };
    this.runningVar = { name: `${name}.running_var`, shape: [C], value: new Float32Array(C).fill(1) };
    this.buffers = [this.runningMean, this.runningVar];
    [this.mean, this.variance, this.invStd, this.alpha, this.beta, this.gamma, this.sumDy, this.sumDyXc] =
      Array.from({ length: 8 }, () => floats(ctx.backend, C));
    this.y = new Activations(ctx.maxBatch, this.inputSize, ctx.backend);
    this.dx = new Activations(ctx.maxBatch, this.inputSize, ctx.backend);
  }

  /** γ = 1, β = 0, running mean 0 and variance 1 (PyTorch's reset_parameters). */
  reset(): void {
    this.gain.value.fill(1);
    this.shift.value.fill(0);
    this.runningMean.value.fill(0);
    this.runningVar.value.fill(1);
  }

  forward(x: Float32Array, batch: number, training: boolean): Float32Array {
    const { backend } = this.ctx;
    const C = this.channels, S = this.spatial, count = batch * S;
    this.trained = training;
    if (training) {
      if (count < 2) throw new RangeError(`${this.name}: batch normalization needs more than one value per channel in training (batch ${batch} × ${S})`);
      backend.channelMoments(x, batch, C, S, this.mean, this.variance);
      const m = this.momentum, rm = this.runningMean.value, rv = this.runningVar.value;
      for (let c = 0; c < C; c++) {
        rm[c] = (1 - m) * rm[c] + m * this.mean[c];
        rv[c] = (1 - m) * rv[c] + m * this.variance[c] * count / (count - 1);
      }
    } else {
      this.mean.set(this.runningMean.value);
      this.variance.set(this.runningVar.value);
    }
    // y = γ·(x − μ)/σ + β = a·x + k with a = γ/σ, k = β − a·μ (then the fused ReLU)
    const g = this.gain.value, b = this.shift.value;
    for (let c = 0; c < C; c++) {
      this.invStd[c] = 1 / Math.sqrt(this.variance[c] + this.eps);
      this.alpha[c] = g[c] * this.invStd[c];
      this.beta[c] = b[c] - g[c] * this.invStd[c] * this.mean[c];
    }
    const y = this.y.rows(batch);
    backend.channelAffine(x, batch, C, S, this.alpha, this.beta, y, this.relu);
    this.x = x;
    this.out = y;
    return y;
  }

  backward(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array {
    const { backend } = this.ctx;
    const C = this.channels, S = this.spatial, count = batch * S;
    const mask = this.relu ? this.out : NO_MASK; // dy·[y > 0]: the fused ReLU's backward
    this.sumDy.fill(0);
    this.sumDyXc.fill(0);
    backend.channelSums(dy, this.x, batch, C, S, this.mean, mask, this.sumDy, this.sumDyXc);
    for (let c = 0; c < C; c++) {
      this.gain.grad[c] += this.invStd[c] * this.sumDyXc[c]; // Σ dy·x̂
      this.shift.grad[c] += this.sumDy[c];
    }
    if (!needInputGrad) return NO_GRAD;
    const g = this.gain.value;
    for (let c = 0; c < C; c++) {
      // Training: μ and σ depend on x, which adds the two mean terms of
      // dx = γ/σ·(dy − mean(dy) − x̂·mean(dy·x̂)) with x̂ = (x − μ)/σ, written as
      // α·dy + β·x + γ'; evaluation: dx = γ/σ·dy.
      const k = g[c] * this.invStd[c];
      const q = this.trained ? -k * this.invStd[c] * this.invStd[c] * this.sumDyXc[c] / count : 0;
      this.alpha[c] = k;
      this.beta[c] = q;
      this.gamma[c] = this.trained ? -k * this.sumDy[c] / count - q * this.mean[c] : 0;
    }
    const dx = this.dx.rows(batch);
    backend.channelCombine(dy, this.x, batch, C, S, this.alpha, this.beta, this.gamma, mask, dx);
    return dx;
  }
}
