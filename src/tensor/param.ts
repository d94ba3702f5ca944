/**
 * A named, trainable tensor and its gradient. Names are stable dotted paths ("dense1.weight")
 * fixed when the model is built; parameters, gradients, optimizer state, decay masks and
 * checkpoint entries are all keyed by them.
 */
import { floats, type Backend } from '../kernels/backend.js';

/**
 * What a parameter is, which decay defaults and framework conventions select by: the seed
 * objective penalizes dense weights and conv kernels, not biases or normalization gains/shifts.
 */
export type ParamKind = 'dense-weight' | 'conv-kernel' | 'bias' | 'norm-gain' | 'norm-shift';

export const isWeightKind = (kind: ParamKind) => kind === 'dense-weight' || kind === 'conv-kernel';

export interface Param {
  readonly name: string;
  readonly shape: readonly number[];
  readonly kind: ParamKind;
  readonly value: Float32Array;
  /** Accumulated by backward; zeroed in one place (Model.zeroGrad) before each step. */
  readonly grad: Float32Array;
}

/**
 * State a layer keeps that is not trained (BatchNorm's running statistics). Saved in model
 * files and checkpoints under its name, as PyTorch saves buffers in a state_dict.
 */
export interface ModelBuffer {
  readonly name: string;
  readonly shape: readonly number[];
  readonly value: Float32Array;
}

/** With a backend, value and grad come from its allocator (zero-copy in wasm memory). */
export function createParam(name: string, shape: readonly number[], kind: ParamKind, backend?: Backend): Param {
  const size = shape.reduce((a, b) => a * b, 1);
  return { name, shape: [...shape], kind, value: floats(backend, size), grad: floats(backend, size) };
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
