/**
 * The contract every layer keeps. A layer owns its parameters and its activation buffers,
 * allocated once for `maxBatch` rows; forward and backward on a smaller batch use views of
 * the same memory, so the training loop allocates nothing.
 */
import { floats, type Backend } from '../kernels/backend.js';
import type { ModelBuffer, Param } from '../tensor/param.js';

export interface Layer {
  /** Stable name, the prefix of its parameters' names ("dense1"). */
  readonly name: string;
  readonly inputSize: number;
  readonly outputSize: number;
  readonly params: readonly Param[];
  /** State that is saved but not trained (BatchNorm's running statistics); absent when none. */
  readonly buffers?: readonly ModelBuffer[];
  /** x: batch × inputSize. Returns batch × outputSize (a view of the layer's own buffer). */
  forward(x: Float32Array, batch: number, training: boolean): Float32Array;
  /**
   * dy: batch × outputSize for the input of the last forward call. Accumulates parameter
   * gradients and returns dx (batch × inputSize), or an empty array when `needInputGrad` is
   * false (the first layer: nothing upstream wants it).
   */
  backward(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array;
}

export interface LayerContext {
  readonly backend: Backend;
  readonly maxBatch: number;
}

/**
 * A row-major activation buffer of maxBatch × cols with a cached view for the current batch:
 * `subarray` allocates a small object, and caching it keeps the hot loop allocation-free.
 */
export class Activations {
  readonly data: Float32Array;
  private viewRows = -1;
  private cached: Float32Array = new Float32Array(0);

  /** With a backend, the buffer comes from its allocator (zero-copy in wasm memory). */
  constructor(readonly maxBatch: number, readonly cols: number, backend?: Backend) {
    this.data = floats(backend, maxBatch * cols);
  }

  rows(batch: number): Float32Array {
    if (batch > this.maxBatch) {
      throw new RangeError(`batch ${batch} exceeds the ${this.maxBatch} rows this model was built for`);
    }
    if (batch !== this.viewRows) {
      this.cached = this.data.subarray(0, batch * this.cols);
      this.viewRows = batch;
    }
    return this.cached;
  }
}

export const NO_GRAD = new Float32Array(0);

/**
 * A layer that hands values and gradients through unchanged (Flatten, which only changes the
 * declared shape; an activation fused into the layer before it).
 */
export class PassThrough implements Layer {
  readonly params: readonly Param[] = [];
  readonly outputSize: number;

  constructor(readonly name: string, readonly inputSize: number) {
    this.outputSize = inputSize;
  }

  forward(x: Float32Array): Float32Array {
    return x;
  }

  backward(dy: Float32Array, _batch: number, needInputGrad: boolean): Float32Array {
    return needInputGrad ? dy : NO_GRAD;
  }
}
