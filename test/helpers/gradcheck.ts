/**
 * Central-difference gradient checks shared by the layer tests (see test/nn/gradcheck.test.ts
 * for the tolerance reasoning): float32 entries are perturbed by h and the difference is
 * divided by the step actually stored; losses are summed in float64.
 */
import assert from 'node:assert/strict';
import type { Layer } from '../../src/nn/layer.js';
import type { Rng } from '../../src/tensor/rng.js';
import { assertClose } from './close.js';

const H = 3e-3;

/** d loss / d arr[i] by central differences on the float32 entry, using the step actually stored. */
export function centralDifference(arr: Float32Array, i: number, loss: () => number, h = H): number {
  const w = arr[i];
  arr[i] = w + h; const wp = arr[i]; const lp = loss();
  arr[i] = w - h; const wm = arr[i]; const lm = loss();
  arr[i] = w;
  return (lp - lm) / (wp - wm);
}

export function numericGradient(arr: Float32Array, loss: () => number, h = H): Float64Array {
  const g = new Float64Array(arr.length);
  for (let i = 0; i < arr.length; i++) g[i] = centralDifference(arr, i, loss, h);
  return g;
}

export function normal(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = scale * rng.normal();
  return a;
}

/** Σ r ⊙ y in float64: a scalar whose gradient with respect to y is r. */
export function project(y: Float32Array, r: Float32Array): number {
  assert.equal(y.length, r.length);
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i] * r[i];
  return s;
}

/**
 * Gradchecks one layer under L = Σ r ⊙ layer(x) in training or evaluation mode: input
 * gradient always, parameter gradients for each of the layer's params.
 */
export function checkLayer(layer: Layer, x: Float32Array, batch: number, rng: Rng, rtol: number, what: string, training = true): void {
  const r = normal(rng, batch * layer.outputSize);
  for (const p of layer.params) p.grad.fill(0);
  layer.forward(x, batch, training);
  const dx = layer.backward(r, batch, true).slice();
  const analytic = layer.params.map((p) => p.grad.slice());
  const loss = () => project(layer.forward(x, batch, training), r);
  assert.equal(dx.length, batch * layer.inputSize, `${what}: dx size`);
  assertClose(dx, numericGradient(x, loss), rtol, `${what}: input gradient`);
  layer.params.forEach((p, k) => assertClose(analytic[k], numericGradient(p.value, loss), rtol, `${what}: ${p.name} gradient`));
}

