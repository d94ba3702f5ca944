/**
 * Elementwise activations. Each keeps what its backward needs: ReLU and Tanh their output
 * (the derivative is a function of it), GELU its input.
 */
import type { Backend } from '../kernels/backend.js';
import type { Param } from '../tensor/param.js';
import { Activations, NO_GRAD, PassThrough, type Layer, type LayerContext } from './layer.js';

abstract class Elementwise implements Layer {
  readonly params: readonly Param[] = [];
  readonly outputSize: number;
  protected readonly y: Activations;  // [batch, size]
  protected readonly dx: Activations; // [batch, size]
  protected x: Float32Array = NO_GRAD;
  protected out: Float32Array = NO_GRAD;

  constructor(readonly name: string, readonly inputSize: number, protected readonly ctx: LayerContext) {
    this.outputSize = inputSize;
    this.y = new Activations(ctx.maxBatch, inputSize, ctx.backend);
    this.dx = new Activations(ctx.maxBatch, inputSize, ctx.backend);
  }

  forward(x: Float32Array, batch: number): Float32Array {
    this.x = x;
    this.out = this.y.rows(batch);
    this.apply(this.ctx.backend, x, this.out, batch * this.inputSize);
    return this.out;
  }

  backward(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array {
    if (!needInputGrad) return NO_GRAD;
    const dx = this.dx.rows(batch);
    this.applyBackward(this.ctx.backend, dy, dx, batch * this.inputSize);
    return dx;
  }

  protected abstract apply(b: Backend, x: Float32Array, y: Float32Array, n: number): void;
  protected abstract applyBackward(b: Backend, dy: Float32Array, dx: Float32Array, n: number): void;
}

export class ReLU extends Elementwise {
  protected apply(b: Backend, x: Float32Array, y: Float32Array, n: number) { b.relu(x, y, n); }
  protected applyBackward(b: Backend, dy: Float32Array, dx: Float32Array, n: number) { b.reluBackward(this.out, dy, dx, n); }
}

export class Tanh extends Elementwise {
  protected apply(b: Backend, x: Float32Array, y: Float32Array, n: number) { b.tanh(x, y, n); }
  protected applyBackward(b: Backend, dy: Float32Array, dx: Float32Array, n: number) { b.tanhBackward(this.out, dy, dx, n); }
}

/** Exact GELU x·Φ(x), PyTorch's default `nn.GELU()` (not the tanh approximation). */
export class GELU extends Elementwise {
  protected apply(b: Backend, x: Float32Array, y: Float32Array, n: number) { b.gelu(x, y, n); }
  protected applyBackward(b: Backend, dy: Float32Array, dx: Float32Array, n: number) { b.geluBackward(this.x, dy, dx, n); }
}

/**
 * An activation whose work the layer before it does (a ReLU fused into the BatchNorm before
 * it: BatchNorm's `relu`). It passes values and gradients through unchanged, keeping its name
 * and position in the model so the spec, parameter names and layer listing stay as written.
 */
export class FusedActivation extends PassThrough {}
