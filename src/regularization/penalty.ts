/**
 * The seed objective's penalty λ_E·Σw² over the decayed parameters. Its gradient enters
 * training as the transform `addL2Gradient` at the head of the chain; this module gives the
 * value that is logged, so the logged loss is the loss that is optimized.
 */
import type { Backend } from '../kernels/backend.js';
import type { Param } from '../tensor/param.js';
import type { L2Coefficient } from './units.js';

/** Σw² over the given parameters (also the squared weight norm the study reports). */
export function squaredNorm(params: readonly Param[], backend: Backend): number {
  let sum = 0;
  for (const p of params) sum += backend.sumSquares(p.value, p.value.length);
  return sum;
}

export function l2Penalty(params: readonly Param[], lambda: L2Coefficient, backend: Backend): number {
  return lambda === 0 ? 0 : lambda * squaredNorm(params, backend);
}
