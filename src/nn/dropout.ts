/**
 * Inverted dropout: in training, each unit is kept with probability 1 − p and scaled by
 * 1/(1 − p), so evaluation is the identity. The mask comes from the model's dropout Rng,
 * whose state is checkpointed, so a resumed run draws the same masks.
 */
import type { Rng } from '../tensor/rng.js';
import type { Param } from '../tensor/param.js';
import { Activations, NO_GRAD, type Layer, type LayerContext } from './layer.js';

export class Dropout implements Layer {
  readonly params: readonly Param[] = [];
  readonly outputSize: number;
  private readonly mask: Activations; // [batch, size], 0 or 1/(1 − p)
  private readonly y: Activations;
  private readonly dx: Activations;
  private active = false;

  constructor(readonly name: string, readonly inputSize: number, readonly rate: number,
    private readonly rng: Rng, private readonly ctx: LayerContext) {
    if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout rate must be in [0, 1), got ${rate}`);
    this.outputSize = inputSize;
    this.mask = new Activations(ctx.maxBatch, inputSize, ctx.backend);
    this.y = new Activations(ctx.maxBatch, inputSize, ctx.backend);
    this.dx = new Activations(ctx.maxBatch, inputSize, ctx.backend);
  }

  forward(x: Float32Array, batch: number, training: boolean): Float32Array {
    this.active = training && this.rate > 0;
    if (!this.active) return x;
    const mask = this.mask.rows(batch), y = this.y.rows(batch);
    const keep = 1 - this.rate, scale = 1 / keep;
    for (let i = 0; i < mask.length; i++) mask[i] = this.rng.uniform() < keep ? scale : 0;
    this.ctx.backend.mul(x, mask, y, mask.length);
    return y;
  }

  backward(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array {
    if (!needInputGrad) return NO_GRAD;
    if (!this.active) return dy;
    const dx = this.dx.rows(batch);
    this.ctx.backend.mul(dy, this.mask.rows(batch), dx, batch * this.inputSize);
    return dx;
  }
}
