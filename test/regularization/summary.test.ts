/**
 * summarizeRegularization against regularization.md's worked example (N = 50 000, B = 128,
 * η = 0.1, PyTorch SGD weight_decay 5e-4 → λ_E = 2.5e-4, δ = 5e-5, epoch shrink
 * (1 − 5e-5)^391 = 0.98064), and the penalty's value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSummary, summarizeRegularization } from '../../src/regularization/summary.js';
import { decayMask } from '../../src/regularization/mask.js';
import { l2Penalty, squaredNorm } from '../../src/regularization/penalty.js';
import { decoupledDecay, l2Coefficient } from '../../src/regularization/units.js';
import { createParam, type Param } from '../../src/tensor/param.js';
import { jsBackend } from '../../src/kernels/js/index.js';

function params(): Param[] {
  const w1 = createParam('dense1.weight', [3, 4], 'weight');
  const b1 = createParam('dense1.bias', [3], 'bias');
  const w2 = createParam('dense2.weight', [2, 3], 'weight');
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

test('worked example: SGD, λ_E = 2.5e-4, η = 0.1 → δ = 5e-5, shrink per epoch 0.98064', () => {
  assert.equal(S, 391);
  const groups = summarizeRegularization(params(), decayMask('weights'), { l2: l2Coefficient(2.5e-4), optimizer: 'sgd', lr: 0.1, stepsPerEpoch: S });
  assert.equal(groups.length, 2);
  const [decayed, rest] = groups;
  assert.equal(decayed.group, 'decayed');
  assert.deepEqual(decayed.tensors, ['dense1.weight', 'dense2.weight']);
  assert.equal(decayed.size, 12 + 6);
  assert.equal(decayed.lambdaE, 2.5e-4);
  // δ = 2·η·λ_E = 2·0.1·2.5e-4 = 5e-5
  assert.ok(Math.abs(decayed.deltaPerStep! - 5e-5) < 1e-18, `δ = ${decayed.deltaPerStep}`);
  // (1 − 5e-5)^391 = exp(391·ln(1 − 5e-5)) = 0.9806394
  assert.equal(decayed.shrinkPerEpoch!.toFixed(5), '0.98064');
  assert.ok(Math.abs(decayed.shrinkPerEpoch! - 0.9806394) < 1e-7);
  assert.deepEqual(decayed.notes, []);
  assert.deepEqual(rest, { group: 'not decayed', tensors: ['dense1.bias', 'dense2.bias'], size: 5, lambdaE: null, deltaPerStep: 0, shrinkPerEpoch: 1, notes: [] });
  // The printout carries the same numbers (parsed, so the test does not pin the number format).
  const text = formatSummary(groups);
  assert.match(text, /shrink per epoch = 0\.98064/);
  assert.equal(numberAfter(text, 'δ per step = '), 5e-5);
  assert.equal(numberAfter(text, 'λ_E = '), 2.5e-4);
});

test('momentum adds the long-run δ/(1 − μ) note', () => {
  const [decayed] = summarizeRegularization(params(), decayMask('weights'),
    { l2: l2Coefficient(2.5e-4), optimizer: 'momentum', lr: 0.1, momentum: 0.9, stepsPerEpoch: S });
  assert.ok(Math.abs(decayed.deltaPerStep! - 5e-5) < 1e-18);
  assert.equal(decayed.notes.length, 1);
  // δ/(1 − μ) = 5e-5/0.1 = 5e-4
  assert.equal(numberAfter(decayed.notes[0], 'δ/(1−μ) = '), 5e-4);
});

test('Adam with coupled L2: δ is undefined (null) with a note, λ_E still reported', () => {
  for (const optimizer of ['adam', 'adamw']) {
    const [decayed] = summarizeRegularization(params(), decayMask('weights'), { l2: l2Coefficient(2.5e-4), optimizer, lr: 0.001, stepsPerEpoch: S });
    assert.equal(decayed.lambdaE, 2.5e-4);
    assert.equal(decayed.deltaPerStep, null, optimizer);
    assert.equal(decayed.shrinkPerEpoch, null, optimizer);
    assert.equal(decayed.notes.length, 1);
    assert.match(decayed.notes[0], /Adam/);
    assert.match(formatSummary([decayed]), /δ per step = undefined/);
  }
});

test('AdamW c = 0.01, η = 0.001 → δ = η·c = 1e-5, decoupled (no λ_E)', () => {
  const [decayed] = summarizeRegularization(params(), decayMask('weights'),
    { l2: l2Coefficient(0), decoupled: decoupledDecay(0.01), optimizer: 'adamw', lr: 0.001, stepsPerEpoch: S });
  assert.equal(decayed.lambdaE, null);
  assert.ok(Math.abs(decayed.deltaPerStep! - 1e-5) < 1e-20, `δ = ${decayed.deltaPerStep}`);
  // (1 − 1e-5)^391 = 0.9960976
  assert.ok(Math.abs(decayed.shrinkPerEpoch! - Math.pow(1 - 1e-5, 391)) < 1e-15);
  assert.equal(decayed.shrinkPerEpoch!.toFixed(5), '0.99610');
  assert.equal(decayed.notes.length, 1);
  assert.match(decayed.notes[0], /decoupled/);
});

test("no regularization: δ = 0, shrink 1, a note; 'all' leaves no undecayed group", () => {
  const groups = summarizeRegularization(params(), decayMask('all'), { l2: l2Coefficient(0), optimizer: 'sgd', lr: 0.1, stepsPerEpoch: S });
  assert.equal(groups.length, 1);
  assert.equal(groups[0].size, 12 + 3 + 6 + 2);
  assert.equal(groups[0].deltaPerStep, 0);
  assert.equal(groups[0].shrinkPerEpoch, 1);
  assert.deepEqual(groups[0].notes, ['no regularization']);
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
