/**
 * Average pooling (PyTorch `nn.AvgPool2d(size, stride)`, no padding) and global average
 * pooling (`nn.AdaptiveAvgPool2d(1)` then flatten: C×H×W → C), which is average pooling with
 * one window the size of the plane.
 */
import type { PoolGeometry } from '../kernels/backend.js';
import type { Param } from '../tensor/param.js';
import { Activations, NO_GRAD, type Layer, type LayerContext } from './layer.js';

export function poolGeometry(input: readonly number[], kernelHeight: number, kernelWidth: number, stride: number): PoolGeometry {
  const [, height, width] = input;
  return {
    height, width, kernelHeight, kernelWidth, stride,
    outHeight: Math.floor((height - kernelHeight) / stride) + 1,
    outWidth: Math.floor((width - kernelWidth) / stride) + 1,
  };
}

export class AvgPool2d implements Layer {
  readonly params: readonly Param[] = [];
  readonly inputSize: number;
  readonly outputSize: number;
  readonly geometry: PoolGeometry;
  private readonly channels: number;
  private readonly y: Activations;  // [batch, C, outH, outW]
  private readonly dx: Activations; // [batch, C, H, W]

  /** size = 'global' pools each whole plane to one value. */
  constructor(readonly name: string, input: readonly number[], size: number | 'global', stride: number, private readonly ctx: LayerContext) {
    this.channels = input[0];
    this.geometry = size === 'global' ? poolGeometry(input, input[1], input[2], 1) : poolGeometry(input, size, size, stride);
    this.inputSize = input[0] * input[1] * input[2];
    this.outputSize = this.channels * this.geometry.outHeight * this.geometry.outWidth;
    this.y = new Activations(ctx.maxBatch, this.outputSize, ctx.backend);
    this.dx = new Activations(ctx.maxBatch, this.inputSize, ctx.backend);
  }

  forward(x: Float32Array, batch: number): Float32Array {
    const y = this.y.rows(batch);
    this.ctx.backend.avgPool(x, batch * this.channels, this.geometry, y);
    return y;
  }

  backward(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array {
    if (!needInputGrad) return NO_GRAD;
    const dx = this.dx.rows(batch);
    this.ctx.backend.avgPoolBackward(dy, batch * this.channels, this.geometry, dx);
    return dx;
  }
}
