/**
 * summarizeRegularization against regularization.md's worked example (N = 50 000, B = 128,
 * η = 0.1, PyTorch SGD weight_decay 5e-4 → λ_E = 2.5e-4, δ = 5e-5, epoch shrink
 * (1 − 5e-5)^391 = 0.98064), and the penalty's value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSummary, summarizeRegularization } from '../../src/regularization/summary.js';
import { parseCoefficient } from '../../src/regularization/conventions.js';
import { termFromGiven, type RegTerm } from '../../src/regularization/plan.js';
import { l2Penalty, squaredNorm } from '../../src/regularization/penalty.js';
import { decoupledDecay, l2Coefficient } from '../../src/regularization/units.js';
import { createParam, type Param } from '../../src/tensor/param.js';
import { jsBackend } from '../../src/kernels/js/index.js';

function params(): Param[] {
  const w1 = createParam('dense1.weight', [3, 4], 'dense-weight');
  const b1 = createParam('dense1.bias', [3], 'bias');
  const w2 = createParam('dense2.weight', [2, 3], 'dense-weight');
  const b2 = createParam('dense2.bias', [2], 'bias');
  return [w1, b1, w2, b2];
}

/** The number printed right after `label` in `text`, rounded to 4 significant digits. */
function numberAfter(text: string, label: string): number {
  const at = text.indexOf(label);
  assert.ok(at >= 0, `'${label}' not in ${JSON.stringify(text)}`);
  const m = /^[-+]?\d*\.?\d+(?:e[-+]?\d+)?/i.exec(text.slice(at + label.length));
  assert.ok(m, `no number after '${label}' in ${JSON.stringify(text)}`);
  return Number(Number(m[0]).toPrecision(4));
}

const N = 50000, B = 128;
const S = Math.ceil(N / B); // 390.625 → 391 steps, the last one partial

/** A term as the CLI would build it from a coefficient in some convention. */
function term(text: string, decayParams = 'weights'): RegTerm {
  return termFromGiven(parseCoefficient(text, 'seed', 'test'), { batch: B, n: N, lr: 0.1 }, decayParams);
}
const ctx = (optimizer: string, lr: number, momentum?: number) => ({ optimizer, lr, momentum, stepsPerEpoch: S, batchSize: B });

test('worked example: PyTorch SGD weight_decay 5e-4, η = 0.1 → λ_E = 2.5e-4, δ = 5e-5, shrink per epoch 0.98064', () => {
  assert.equal(S, 391);
  const groups = summarizeRegularization(params(), [term('pytorch-sgd:weight_decay=5e-4')], ctx('sgd', 0.1));
  assert.equal(groups.length, 2);
  const [decayed, rest] = groups;
  assert.equal(decayed.group, 'decayed');
  assert.deepEqual(decayed.tensors, ['dense1.weight', 'dense2.weight']);
  assert.equal(decayed.size, 12 + 6);
  assert.equal(decayed.lambdaE, 2.5e-4);
  assert.deepEqual(decayed.given, ['pytorch-sgd:weight_decay=5e-4']);
  // δ = 2·η·λ_E = 2·0.1·2.5e-4 = 5e-5
  assert.ok(Math.abs(decayed.deltaPerStep! - 5e-5) < 1e-18, `δ = ${decayed.deltaPerStep}`);
  // (1 − 5e-5)^391 = exp(391·ln(1 − 5e-5)) = 0.9806394
  assert.equal(decayed.shrinkPerEpoch!.toFixed(5), '0.98064');
  assert.ok(Math.abs(decayed.shrinkPerEpoch! - 0.9806394) < 1e-7);
  assert.deepEqual(decayed.notes, []);
  assert.equal(rest.group, 'not decayed');
  assert.deepEqual(rest.tensors, ['dense1.bias', 'dense2.bias']);
  assert.equal(rest.size, 5);
  assert.equal(rest.deltaPerStep, 0);
  assert.equal(rest.shrinkPerEpoch, 1);
  const text = formatSummary(groups, S);
  assert.match(text, /shrink per epoch \(1 − δ\)\^391 = 0\.98064/);
  assert.equal(numberAfter(text, 'direct δ per step = '), 5e-5);
  assert.doesNotMatch(text, /long-run/, 'no momentum, one number');
  assert.equal(numberAfter(text, 'λ_E = '), 2.5e-4);
});

test('the same λ_E from sklearn alpha = 0.064 at B = 128 gives the same summary', () => {
  const [a] = summarizeRegularization(params(), [term('sklearn-mlp:alpha=0.064')], ctx('sgd', 0.1));
  assert.ok(Math.abs(a.lambdaE! - 2.5e-4) < 1e-18);
  assert.equal(a.shrinkPerEpoch!.toFixed(5), '0.98064');
});

test('momentum: the direct δ = 2ηλ_E and the long-run 2ηλ_E/(1 − μ), both named', () => {
  const [decayed] = summarizeRegularization(params(), [term('seed:lambda=2.5e-4')], ctx('momentum', 0.1, 0.9));
  assert.ok(Math.abs(decayed.deltaPerStep! - 5e-5) < 1e-18);
  // 2ηλ_E/(1 − μ) = 5e-5/0.1 = 5e-4
  assert.ok(Math.abs(decayed.shrink.longRun! - 5e-4) < 1e-15);
  const text = formatSummary([decayed], S, 0.9);
  assert.equal(numberAfter(text, 'direct δ per step = '), 5e-5);
  assert.equal(numberAfter(text, 'long-run through momentum μ=0.9: '), 5e-4);
});

test('Adam with coupled L2: δ is undefined (null) with a note, λ_E still reported', () => {
  for (const optimizer of ['adam', 'adamw']) {
    const [decayed] = summarizeRegularization(params(), [term('seed:lambda=2.5e-4')], ctx(optimizer, 0.001));
    assert.equal(decayed.lambdaE, 2.5e-4);
    assert.equal(decayed.deltaPerStep, null, optimizer);
    assert.equal(decayed.shrinkPerEpoch, null, optimizer);
    assert.match(decayed.shrink.why!, /√v̂/);
    assert.match(formatSummary([decayed], S), /δ per step: undefined \(coupled L2 under adamw? is divided by √v̂/);
  }
});

test('Adam with coupled L2 and AdamW decay together: δ stays undefined', () => {
  const [decayed] = summarizeRegularization(params(), [term('seed:lambda=2.5e-4'), term('pytorch-adamw:weight_decay=0.01')], ctx('adamw', 0.001));
  assert.equal(decayed.deltaPerStep, null);
  assert.equal(decayed.decoupled, 0.01);
});

test('AdamW c = 0.01, η = 0.001 → δ = η·c = 1e-5, decoupled (no λ_E)', () => {
  const [decayed] = summarizeRegularization(params(), [term('pytorch-adamw:weight_decay=0.01')], ctx('adamw', 0.001));
  assert.equal(decayed.lambdaE, null);
  assert.equal(decayed.decoupled, 0.01);
  assert.ok(Math.abs(decayed.deltaPerStep! - 1e-5) < 1e-20, `δ = ${decayed.deltaPerStep}`);
  // (1 − 1e-5)^391 = 0.9960976
  assert.ok(Math.abs(decayed.shrinkPerEpoch! - Math.pow(1 - 1e-5, 391)) < 1e-15);
  assert.equal(decayed.shrinkPerEpoch!.toFixed(5), '0.99610');
  assert.equal(decayed.notes.length, 1);
  assert.match(decayed.notes[0], /decoupled/);
});

test("no regularization: one 'not decayed' group with δ = 0 and shrink 1", () => {
  const groups = summarizeRegularization(params(), [], ctx('sgd', 0.1));
  assert.equal(groups.length, 1);
  assert.equal(groups[0].group, 'not decayed');
  assert.equal(groups[0].size, 12 + 3 + 6 + 2);
  assert.equal(groups[0].deltaPerStep, 0);
  assert.equal(groups[0].shrinkPerEpoch, 1);
});

test("per-weight-tensor: each tensor its own λ_E = c/P_t, so two decayed groups", () => {
  const groups = summarizeRegularization(params(), [term('per-weight-tensor:c=1')], ctx('sgd', 0.1));
  assert.equal(groups.length, 3);
  const byTensor = new Map(groups.flatMap((g) => g.tensors.map((t) => [t, g.lambdaE] as const)));
  assert.equal(byTensor.get('dense1.weight'), 1 / 12);
  assert.equal(byTensor.get('dense2.weight'), 1 / 6);
  assert.equal(byTensor.get('dense1.bias'), null);
});

test('l2Penalty = λ_E·Σw² over the given tensors', () => {
  const [w1, b1, w2] = params();
  w1.value.set([1, 2, -2, 0, 0, 0, 0, 0, 0, 0, 0, 0.5]); // Σw² = 1 + 4 + 4 + 0.25 = 9.25
  w2.value.set([3, 0, 0, 0, 0, -1]);                      // Σw² = 9 + 1 = 10
  b1.value.set([100, 100, 100]);
  assert.equal(squaredNorm([w1, w2], jsBackend), 19.25);
  assert.equal(l2Penalty([w1, w2], l2Coefficient(0.5), jsBackend), 9.625);
  assert.equal(l2Penalty([w1, w2], l2Coefficient(0), jsBackend), 0);
  assert.equal(l2Penalty([w1, b1, w2], l2Coefficient(0.5), jsBackend), 9.625 + 0.5 * 30000);
});
