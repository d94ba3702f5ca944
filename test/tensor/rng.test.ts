/**
 * The seeded Rng and the initializers: determinism (same seed, same stream; state round trip),
 * distribution moments over 1e5 draws, and bit-identical model initialization.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/tensor/rng.js';
import { glorotUniform, heNormal, initialize } from '../../src/tensor/init.js';
import { Sequential } from '../../src/nn/sequential.js';
import { mlpSpec, type ModelSpec } from '../../src/nn/spec.js';
import type { Dense } from '../../src/nn/dense.js';
import { jsBackend } from '../../src/kernels/js/index.js';

const draws = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.nextUint32());

function moments(values: ArrayLike<number>): { mean: number; variance: number } {
  let s = 0, s2 = 0;
  for (let i = 0; i < values.length; i++) { s += values[i]; s2 += values[i] * values[i]; }
  const mean = s / values.length;
  return { mean, variance: s2 / values.length - mean * mean };
}

test('same seed gives the same sequence; different seeds differ', () => {
  const a = draws(new Rng(42), 1000), b = draws(new Rng(42), 1000);
  assert.deepEqual(a, b);
  assert.ok(a.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32), 'uint32 range');
  for (const [s, t] of [[42, 43], [0, 1], [1, 2], [0, 2 ** 32]] as const) {
    const x = draws(new Rng(s), 100), y = draws(new Rng(t), 100);
    if (t === 2 ** 32) { assert.deepEqual(x, y, 'seeds are taken mod 2^32'); continue; }
    const same = x.filter((v, i) => v === y[i]).length;
    assert.ok(same <= 1, `seeds ${s} and ${t}: ${same} of 100 draws coincide`);
  }
  // Not stuck: 1000 draws of one generator are (essentially) all distinct.
  assert.ok(new Set(a).size >= 999);
});

test('seed 0 works (splitmix spreads it; the state is not all zero)', () => {
  const rng = new Rng(0);
  assert.ok(rng.state().some((w) => w !== 0));
  const x = draws(rng, 10);
  assert.ok(new Set(x).size === 10);
});

test('state()/setState() round trip continues identically', () => {
  const rng = new Rng(7);
  draws(rng, 17);
  const saved = rng.state();
  assert.equal(saved.length, 4);
  const next = draws(rng, 100);
  const normals = Array.from({ length: 10 }, () => rng.normal());
  rng.setState(saved);
  assert.deepEqual(draws(rng, 100), next);
  assert.deepEqual(Array.from({ length: 10 }, () => rng.normal()), normals);
  // A new generator built from the saved state continues the same way.
  assert.deepEqual(draws(new Rng(saved), 100), next);
  // state() is a copy: mutating it does not touch the generator.
  const copy = rng.state();
  copy[0] ^= 1;
  assert.notDeepEqual(rng.state(), copy);
});

test('derive: streams are reproducible and independent of each other', () => {
  assert.deepEqual(draws(Rng.derive(5, 'init'), 50), draws(Rng.derive(5, 'init'), 50));
  const init = draws(Rng.derive(5, 'init'), 50), dropout = draws(Rng.derive(5, 'dropout'), 50);
  const other = draws(Rng.derive(6, 'init'), 50);
  assert.ok(init.filter((v, i) => v === dropout[i]).length <= 1);
  assert.ok(init.filter((v, i) => v === other[i]).length <= 1);
});

test('uniform is in [0, 1) with mean 0.5 ± 0.01 and variance 1/12 over 1e5 draws', () => {
  const rng = new Rng(123);
  const u = Float64Array.from({ length: 1e5 }, () => rng.uniform());
  let min = 1, max = 0;
  for (const v of u) { min = Math.min(min, v); max = Math.max(max, v); }
  assert.ok(min >= 0 && max < 1, `range [${min}, ${max}]`);
  assert.ok(min < 1e-3 && max > 1 - 1e-3, 'covers the interval');
  const { mean, variance } = moments(u);
  assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1 / 12) < 0.002, `variance ${variance}`);
  // Ten equal bins each hold 10% ± 1%.
  const bins = new Array(10).fill(0);
  for (const v of u) bins[Math.floor(v * 10)]++;
  for (const c of bins) assert.ok(Math.abs(c - 1e4) < 1e3, `bin counts ${bins}`);
});

test('normal has mean 0 ± 0.02 and variance 1 ± 0.02 over 1e5 draws', () => {
  const rng = new Rng(321);
  const z = Float64Array.from({ length: 1e5 }, () => rng.normal());
  assert.ok(z.every(Number.isFinite));
  const { mean, variance } = moments(z);
  assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.02, `variance ${variance}`);
  // P(|z| > 1.96) = 0.05 ± 0.005.
  const tail = z.filter((v) => Math.abs(v) > 1.96).length / z.length;
  assert.ok(Math.abs(tail - 0.05) < 0.005, `two-sided 5% tail holds ${tail}`);
});

test('int(n) is in [0, n) and hits every value', () => {
  const rng = new Rng(9);
  const counts = new Array(7).fill(0);
  for (let i = 0; i < 7000; i++) {
    const k = rng.int(7);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 7, `int(7) = ${k}`);
    counts[k]++;
  }
  for (const c of counts) assert.ok(c > 800 && c < 1200, `counts ${counts}`);
});

test('shuffle is a permutation (Int32Array and number[]), and seeded', () => {
  const a = Int32Array.from({ length: 1000 }, (_, i) => i);
  new Rng(11).shuffle(a);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  const fixed = a.filter((v, i) => v === i).length;
  assert.ok(fixed < 10, `${fixed} fixed points (expected ≈ 1)`);
  const b = Int32Array.from({ length: 1000 }, (_, i) => i);
  new Rng(11).shuffle(b);
  assert.deepEqual(a, b, 'same seed, same permutation');
  const list = ['a', 'b', 'c', 'd', 'e'].map((_, i) => i * 10);
  new Rng(3).shuffle(list);
  assert.deepEqual([...list].sort((x, y) => x - y), [0, 10, 20, 30, 40]);
  // Every position is equally likely: element 0 lands in each of 4 slots ~25% of the time.
  const where = [0, 0, 0, 0];
  const rng = new Rng(4);
  for (let t = 0; t < 4000; t++) { const p = [0, 1, 2, 3]; rng.shuffle(p); where[p.indexOf(0)]++; }
  for (const c of where) assert.ok(Math.abs(c - 1000) < 120, `positions of element 0: ${where}`);
});

test('He normal: mean 0, std √(2/fanIn) within 3%', () => {
  for (const fanIn of [10, 100, 784]) {
    const w = new Float32Array(1e5);
    heNormal(w, fanIn, new Rng(fanIn));
    const { mean, variance } = moments(w);
    const target = Math.sqrt(2 / fanIn);
    assert.ok(Math.abs(Math.sqrt(variance) / target - 1) < 0.03, `fanIn ${fanIn}: std ${Math.sqrt(variance)}, expected ${target}`);
    assert.ok(Math.abs(mean) < 0.02 * target, `fanIn ${fanIn}: mean ${mean}`);
  }
});

test('Glorot uniform: within ±√(6/(fanIn+fanOut)), reaching near the limits, variance limit²/3', () => {
  const [fanIn, fanOut] = [300, 100];
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const w = new Float32Array(1e5);
  glorotUniform(w, fanIn, fanOut, new Rng(77));
  let min = Infinity, max = -Infinity;
  for (const v of w) { min = Math.min(min, v); max = Math.max(max, v); }
  assert.ok(min >= -limit && max <= limit, `range [${min}, ${max}] vs ±${limit}`);
  assert.ok(min < -0.99 * limit && max > 0.99 * limit, 'fills the interval');
  const { mean, variance } = moments(w);
  assert.ok(Math.abs(Math.sqrt(variance) / Math.sqrt(limit * limit / 3) - 1) < 0.03, `std ${Math.sqrt(variance)}`);
  assert.ok(Math.abs(mean) < 0.01 * limit);
  // initialize() dispatches by name.
  const a = new Float32Array(10), b = new Float32Array(10);
  initialize('glorot', a, fanIn, fanOut, new Rng(1));
  glorotUniform(b, fanIn, fanOut, new Rng(1));
  assert.deepEqual(a, b);
  initialize('he', a, fanIn, fanOut, new Rng(1));
  heNormal(b, fanIn, new Rng(1));
  assert.deepEqual(a, b);
});

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

test('new Sequential(spec, {seed: 7}) twice gives bit-identical weights; seed 8 differs', () => {
  const spec: ModelSpec = mlpSpec(20, [16, 8], 4, 'relu', 0.2);
  const build = (seed: number) => new Sequential(spec, { backend: jsBackend, maxBatch: 2, seed });
  const a = build(7), b = build(7), c = build(8);
  assert.equal(a.params.length, 6);
  a.params.forEach((p, k) => {
    assert.deepEqual(bits(p.value), bits(b.params[k].value), `${p.name}: same seed`);
  });
  for (const [k, p] of a.params.entries()) {
    if (p.kind !== 'dense-weight') continue;
    const diff = p.value.filter((v, i) => v !== c.params[k].value[i]).length;
    assert.ok(diff > 0.9 * p.value.length, `${p.name}: seed 8 changes ${diff} of ${p.value.length} weights`);
  }
  // Biases start at zero; the dropout stream starts the same for the same seed.
  for (const p of a.params) if (p.kind === 'bias') assert.ok(p.value.every((v) => v === 0), p.name);
  assert.deepEqual(a.dropoutRng.state(), b.dropoutRng.state());
  assert.notDeepEqual(a.dropoutRng.state(), c.dropoutRng.state());
});

test('Sequential picks He before ReLU/GELU and Glorot before tanh and for the logits', () => {
  const model = new Sequential(mlpSpec(784, [256], 10, 'relu'), { backend: jsBackend, maxBatch: 1, seed: 1 });
  const [dense1, , dense2] = model.layers as Dense[];
  // He: std √(2/784) = 0.0505 over 200 704 weights.
  const he = Math.sqrt(moments(dense1.weight.value).variance);
  assert.ok(Math.abs(he / Math.sqrt(2 / 784) - 1) < 0.03, `dense1 std ${he}`);
  // Glorot for the logits layer: |w| ≤ √(6/(256 + 10)) and std = limit/√3.
  const limit = Math.sqrt(6 / 266);
  assert.ok(dense2.weight.value.every((v) => Math.abs(v) <= limit));
  const glorot = Math.sqrt(moments(dense2.weight.value).variance);
  assert.ok(Math.abs(glorot / (limit / Math.sqrt(3)) - 1) < 0.03, `dense2 std ${glorot}`);

  const tanh = new Sequential(mlpSpec(784, [256], 10, 'tanh'), { backend: jsBackend, maxBatch: 1, seed: 1 });
  const t1 = (tanh.layers[0] as Dense).weight.value;
  const tLimit = Math.sqrt(6 / (784 + 256));
  assert.ok(t1.every((v) => Math.abs(v) <= tLimit), 'Glorot before tanh');
  assert.ok(Math.abs(Math.sqrt(moments(t1).variance) / (tLimit / Math.sqrt(3)) - 1) < 0.03);
  // An explicit init overrides the choice.
  const forced = new Sequential({ inputSize: 784, classes: 10, layers: [{ type: 'dense', units: 256, init: 'glorot' }, { type: 'relu' }, { type: 'dense', units: 10 }] },
    { backend: jsBackend, maxBatch: 1, seed: 1 });
  assert.ok((forced.layers[0] as Dense).weight.value.every((v) => Math.abs(v) <= tLimit));
});
