/**
 * Weight initializers drawn from a seeded Rng. fanIn/fanOut are those of a Dense weight
 * stored [out, in] (PyTorch's layout).
 */
import type { Rng } from './rng.js';

export type InitName = 'he' | 'glorot';

/** He (Kaiming) normal: N(0, 2/fanIn). Keeps ReLU activations' variance across depth. */
export function heNormal(out: Float32Array, fanIn: number, rng: Rng): void {
  const std = Math.sqrt(2 / fanIn);
  for (let i = 0; i < out.length; i++) out[i] = std * rng.normal();
}

/** Glorot (Xavier) uniform: U(±√(6/(fanIn+fanOut))). For tanh and linear layers. */
export function glorotUniform(out: Float32Array, fanIn: number, fanOut: number, rng: Rng): void {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  for (let i = 0; i < out.length; i++) out[i] = (2 * rng.uniform() - 1) * limit;
}

export function initialize(name: InitName, out: Float32Array, fanIn: number, fanOut: number, rng: Rng): void {
  switch (name) {
    case 'he': return heNormal(out, fanIn, rng);
    case 'glorot': return glorotUniform(out, fanIn, fanOut, rng);
  }
}
