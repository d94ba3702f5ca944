/**
 * The converter: regularization.md's worked example, every number of it; round trips A → B → A
 * over random contexts (fast-check); no number where none exists; bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CONVENTIONS, parseCoefficient } from '../../src/regularization/conventions.js';
import { convert, type ConvertContext } from '../../src/regularization/convert.js';
import { ConfigError } from '../../src/errors.js';

const close = (a: number | null, b: number, what: string) => {
  assert.notEqual(a, null, `${what} is null`);
  assert.ok(Math.abs(a! - b) <= 1e-12 * Math.abs(b), `${what}: ${a} ≠ ${b}`);
};

test('worked example: N = 50 000, B = 128, η = 0.1, PyTorch SGD weight_decay 5e-4, μ = 0', () => {
  const r = convert(parseCoefficient('pytorch-sgd:weight_decay=5e-4', 'seed', 'test'), { optimizer: 'sgd', lr: 0.1, batch: 128, n: 50000, momentum: 0 });
  const value = (id: string) => r.results.find((x) => x.convention === id)!.value;
  close(r.canonical.value, 2.5e-4, 'λ_E');
  close(r.deltaPerStep, 5e-5, 'δ');
  assert.equal(r.shrinkPerEpoch!.toFixed(5), '0.98064'); // (1 − 5e-5)^391
  close(value('keras'), 2.5e-4, 'Keras l2');
  close(value('tfjs'), 2.5e-4, 'tfjs l2');
  close(value('tfa-sgdw'), 5e-5, 'tf-addons SGDW');
  close(value('sklearn-mlp'), 0.064, 'sklearn alpha');
  close(value('convnetjs'), 0.064, 'ConvNetJS l2_decay');
  close(value('sklearn-logreg'), 0.04, 'LogisticRegression C');
  close(value('nielsen'), 25, 'Nielsen λ');
  close(value('bengio'), 12.5, 'Bengio c');
});

test('the same alpha = 0.064 at B = 32 / 128 / 512 means λ_E = 1e-3 / 2.5e-4 / 6.25e-5', () => {
  for (const [batch, lambda] of [[32, 1e-3], [128, 2.5e-4], [512, 6.25e-5]]) {
    const r = convert(parseCoefficient('sklearn-mlp:alpha=0.064', 'seed', 'test'), { optimizer: 'sgd', batch }, ['seed']);
    close(r.canonical.value, lambda, `B=${batch}`);
    close(r.results[0].value, lambda, `seed at B=${batch}`);
  }
});

test('momentum: Keras-3 (decoupled, outside the buffer) c = PyTorch c / (1 − μ), 10× at μ = 0.9', () => {
  const r = convert(parseCoefficient('pytorch-sgd:weight_decay=5e-4', 'seed', 'test'), { optimizer: 'momentum', momentum: 0.9 }, ['keras3']);
  close(r.results[0].value, 5e-3, 'keras3 weight_decay');
  assert.equal(r.results[0].exactness, 'same stationary point');
});

test('coupled L2 under Adam ↔ decoupled decay: no number, and the reason', () => {
  const r = convert(parseCoefficient('pytorch-adam:weight_decay=1e-4', 'seed', 'test'), { optimizer: 'adam', lr: 1e-3, batch: 128, n: 60000 });
  for (const id of ['pytorch-adamw', 'keras3', 'tfa-adamw', 'timescale']) {
    const x = r.results.find((y) => y.convention === id)!;
    assert.equal(x.value, null, id);
    assert.match(x.notes.join(' '), /√v̂/, id);
  }
  // Within a kind the conversion stays exact under Adam.
  close(r.results.find((y) => y.convention === 'keras')!.value, 5e-5, 'keras under adam');
  assert.equal(r.deltaPerStep, null);
});

test('AdamW timescale: τ = B/(N·η·c) epochs, and back', () => {
  const r = convert(parseCoefficient('pytorch-adamw:weight_decay=0.1', 'seed', 'test'), { optimizer: 'adamw', lr: 1e-3, batch: 128, n: 60000 }, ['timescale']);
  close(r.results[0].value, 128 / (60000 * 1e-3 * 0.1), 'τ');
  const back = convert(parseCoefficient(`timescale:tau=${r.results[0].value}`, 'seed', 'test'), { optimizer: 'adamw', lr: 1e-3, batch: 128, n: 60000 }, ['pytorch-adamw']);
  close(back.results[0].value, 0.1, 'c');
});

test('normalized weight decay: c = c_norm·√(B/(N·T))', () => {
  const r = convert(parseCoefficient('normalized:wd_norm=0.05', 'seed', 'test'), { optimizer: 'adamw', lr: 1e-3, batch: 128, n: 50000, epochs: 100 }, ['pytorch-adamw']);
  close(r.results[0].value, 0.05 * Math.sqrt(128 / (50000 * 100)), 'c');
});

// Context values drawn over realistic ranges; momentum only for momentum optimizers.
const contexts = fc.record({
  optimizer: fc.constantFrom('sgd', 'momentum', 'nesterov', 'adam', 'adamw'),
  lr: fc.double({ min: 1e-4, max: 1, noNaN: true }),
  batch: fc.integer({ min: 1, max: 4096 }),
  n: fc.integer({ min: 100, max: 2_000_000 }),
  momentum: fc.double({ min: 0.01, max: 0.99, noNaN: true }),
  params: fc.integer({ min: 1, max: 10_000_000 }),
  epochs: fc.integer({ min: 1, max: 500 }),
}).map((c): ConvertContext => ({ ...c, momentum: c.optimizer === 'momentum' || c.optimizer === 'nesterov' ? c.momentum : 0 } as ConvertContext));

test('round trips: A → B → A returns A for every pair with a number both ways (fast-check)', () => {
  fc.assert(fc.property(contexts, fc.double({ min: 1e-6, max: 0.5, noNaN: true }), fc.constantFrom(...CONVENTIONS.map((c) => c.id)), (ctx, c, from) => {
    const conv = CONVENTIONS.find((x) => x.id === from)!;
    const there = convert(parseCoefficient(`${from}:${conv.param}=${c}`, 'seed', 'test'), ctx);
    for (const r of there.results) {
      if (r.value === null || !(r.value > 0) || !Number.isFinite(r.value)) continue;
      const back = convert(parseCoefficient(`${r.convention}:${r.param}=${r.value}`, 'seed', 'test'), ctx, [from]);
      const v = back.results[0].value;
      assert.ok(v !== null && Math.abs(v - c) <= 1e-9 * c, `${from}=${c} → ${r.convention}=${r.value} → ${v} (${JSON.stringify(ctx)})`);
    }
  }), { numRuns: 60, seed: 42 });
});

test('bad input: unknown convention lists the known ones', () => {
  assert.throws(() => parseCoefficient('caffe:weight_decay=1e-4', 'seed', '--from'), (e: Error) =>
    e instanceof ConfigError && /unknown convention 'caffe'/.test(e.message) && /pytorch-sgd/.test(e.message));
});

test('bad input: unknown parameter of a known convention names the right one', () => {
  assert.throws(() => parseCoefficient('sklearn-mlp:lambda=0.1', 'seed', '--from'), /no parameter 'lambda' \(it takes alpha=…\)/);
});

test('bad input: missing context names the field of the context argument', () => {
  assert.throws(() => convert(parseCoefficient('sklearn-mlp:alpha=0.1', 'seed', 't'), { optimizer: 'sgd' }), /depends on B: give context\.batch$/);
  assert.throws(() => convert(parseCoefficient('bengio:c=1', 'seed', 't'), { optimizer: 'sgd' }), /give context\.n$/);
  assert.throws(() => convert(parseCoefficient('seed:lambda=1e-4', 'seed', 't'), { optimizer: 'sgd' }, ['nielsen']), /needs N \(context\.n\)/);
  assert.throws(() => convert(parseCoefficient('seed:lambda=1e-4', 'seed', 't'), { optimizer: 'momentum' }), /context\.optimizer momentum needs μ: give context\.momentum$/);
});

test('bad input: negative, non-finite and non-numeric coefficients', () => {
  for (const bad of ['keras:l2=-1', 'keras:l2=NaN', 'keras:l2=Infinity', 'keras:l2=abc', 'keras:l2=', '-0.5']) {
    assert.throws(() => parseCoefficient(bad, 'seed', '--l2'), ConfigError, bad);
  }
  assert.throws(() => parseCoefficient('sklearn-logreg:C=0', 'seed', '--l2'), /must be positive/);
});
