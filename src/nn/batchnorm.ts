/**
 * Batch normalization (PyTorch `nn.BatchNorm1d` on flat inputs, `nn.BatchNorm2d` on C×H×W):
 * y = γ·(x − μ)/√(σ² + ε) + β per channel. In training μ and σ² are the batch's (biased
 * variance, over batch × H × W), and the running estimates move by `momentum` toward μ and the
 * *unbiased* batch variance, exactly as PyTorch; in evaluation the running estimates are used.
 *
 * Why it matters here: with BN after a layer, the loss does not change when that layer's
 * weights are scaled, so L2 on them no longer limits capacity; it shrinks ‖w‖ and thereby
 * raises the effective learning rate η/‖w‖² (van Laarhoven 2017; Zhang et al. 2019).
 */
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
  private readonly scale: Float32Array;    // [C], per-channel coefficients for the fused kernels
  private readonly offset: Float32Array;   // [C]
  private readonly bias2: Float32Array;    // [C]
  private readonly sumDy: Float32Array;    // [C]
  private readonly sumDyXhat: Float32Array;// [C]
  private readonly xhat: Activations;      // [batch, C, S], the normalized input
  private readonly y: Activations;
  private readonly dx: Activations;
  private trained = false; // the mode of the last forward, which backward differentiates

  constructor(readonly name: string, input: readonly number[], readonly momentum: number = BATCHNORM_DEFAULTS.momentum,
    readonly eps: number = BATCHNORM_DEFAULTS.eps, private readonly ctx: LayerContext) {
    this.channels = input[0];
    this.spatial = input.length === 3 ? input[1] * input[2] : 1;
    this.inputSize = this.outputSize = this.channels * this.spatial;
    const C = this.channels;
    this.gain = createParam(`${name}.weight`, [C], 'norm-gain');
    this.shift = createParam(`${name}.bias`, [C], 'norm-shift');
    this.params = [this.gain, this.shift];
    this.runningMean = { name: `${name}.running_mean`, shape: [C], value: new Float32Array(C) };
    this.runningVar = { name: `${name}.running_var`, shape: [C], value: new Float32Array(C).fill(1) };
    this.buffers = [this.runningMean, this.runningVar];
    [this.mean, this.variance, this.invStd, this.scale, this.offset, this.bias2, this.sumDy, this.sumDyXhat] =
      Array.from({ length: 8 }, () => new Float32Array(C));
    this.xhat = new Activations(ctx.maxBatch, this.inputSize);
    this.y = new Activations(ctx.maxBatch, this.inputSize);
    this.dx = new Activations(ctx.maxBatch, this.inputSize);
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
    for (let c = 0; c < C; c++) {
      this.invStd[c] = 1 / Math.sqrt(this.variance[c] + this.eps);
      this.offset[c] = -this.mean[c] * this.invStd[c];
    }
    // x̂ = (x − μ)/σ is kept for backward; y = γ·x̂ + β
    const xhat = this.xhat.rows(batch), y = this.y.rows(batch);
    backend.channelAffine(x, batch, C, S, this.invStd, this.offset, xhat);
    backend.channelAffine(xhat, batch, C, S, this.gain.value, this.shift.value, y);
    return y;
  }

  backward(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array {
    const { backend } = this.ctx;
    const C = this.channels, S = this.spatial, count = batch * S;
    const xhat = this.xhat.rows(batch);
    this.sumDy.fill(0);
    this.sumDyXhat.fill(0);
    backend.channelSums(dy, xhat, batch, C, S, this.sumDy, this.sumDyXhat);
    for (let c = 0; c < C; c++) {
      this.gain.grad[c] += this.sumDyXhat[c];
      this.shift.grad[c] += this.sumDy[c];
    }
    if (!needInputGrad) return NO_GRAD;
    const g = this.gain.value;
    for (let c = 0; c < C; c++) {
      const k = g[c] * this.invStd[c];
      this.scale[c] = k;
      // Training: μ and σ depend on x, which adds the two mean terms of
      // dx = γ/σ·(dy − mean(dy) − x̂·mean(dy·x̂)); evaluation: dx = γ/σ·dy.
      this.offset[c] = this.trained ? -k * this.sumDyXhat[c] / count : 0;
      this.bias2[c] = this.trained ? -k * this.sumDy[c] / count : 0;
    }
    const dx = this.dx.rows(batch);
    backend.channelCombine(dy, xhat, batch, C, S, this.scale, this.offset, this.bias2, dx);
    return dx;
  }
}
