/**
 * Max pooling (PyTorch `nn.MaxPool2d(size, stride)`, no padding): each output is the largest
 * input in its window; backward routes the gradient to that input (the first maximum in
 * row-major window order on ties, as PyTorch).
 */
import { ints, type PoolGeometry } from '../kernels/backend.js';
import type { Param } from '../tensor/param.js';
import { Activations, NO_GRAD, type Layer, type LayerContext } from './layer.js';
import { poolGeometry } from './avgpool2d.js';

export class MaxPool2d implements Layer {
  readonly params: readonly Param[] = [];
  readonly inputSize: number;
  readonly outputSize: number;
  readonly geometry: PoolGeometry;
  private readonly channels: number;
  private readonly y: Activations;       // [batch, C, outH, outW]
  private readonly argmax: Int32Array;   // [maxBatch·C·outH·outW], index within the input plane
  private readonly dx: Activations;      // [batch, C, H, W]

  constructor(readonly name: string, input: readonly number[], size: number, stride: number, private readonly ctx: LayerContext) {
    this.channels = input[0];
    this.geometry = poolGeometry(input, size, size, stride);
    this.inputSize = input[0] * input[1] * input[2];
    this.outputSize = this.channels * this.geometry.outHeight * this.geometry.outWidth;
    this.y = new Activations(ctx.maxBatch, this.outputSize, ctx.backend);
    this.argmax = ints(ctx.backend, ctx.maxBatch * this.outputSize);
    this.dx = new Activations(ctx.maxBatch, this.inputSize, ctx.backend);
  }

  forward(x: Float32Array, batch: number): Float32Array {
    const y = this.y.rows(batch);
    this.ctx.backend.maxPool(x, batch * this.channels, this.geometry, y, this.argmax);
    return y;
  }

  backward(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array {
    if (!needInputGrad) return NO_GRAD;
    const dx = this.dx.rows(batch);
    this.ctx.backend.maxPoolBackward(dy, this.argmax, batch * this.channels, this.geometry, dx);
    return dx;
  }
}
