/**
 * Regularization terms from conventions: per-batch (scikit-learn), per-tensor, layer
 * multipliers (ConvNetJS l2_decay_mul) and muP, checked as the coefficients the chain applies
 * and as one real update.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCoefficient } from '../../src/regularization/conventions.js';
import { coefficientFor, termFromGiven, validatePlan, coupledCoefficients, savedTerm, type RegTerm } from '../../src/regularization/plan.js';
import { mupAdjustment } from '../../src/regularization/mup.js';
import { paramShapes, mlpSpec } from '../../src/nn/spec.js';
import { createParam } from '../../src/tensor/param.js';
import { buildUpdate, Penalty } from '../../src/train/objective.js';
import { transformNames, applyUpdates } from '../../src/optim/transform.js';
import { jsBackend } from '../../src/kernels/js/index.js';
import { ConfigError } from '../../src/errors.js';

const given = (text: string) => parseCoefficient(text, 'seed', 'test');
const w = (name: string, rows: number, cols: number) => createParam(name, [rows, cols], 'dense-weight');

test('sklearn-mlp alpha: λ_E = alpha/(2·B_step), so a last batch of 8 gets twice the λ of a batch of 16', () => {
  const term = termFromGiven(given('sklearn-mlp:alpha=0.05'), { batch: 16 }, 'weights');
  const p = w('dense1.weight', 2, 3);
  assert.equal(coefficientFor(term, p, 16), 0.05 / 32);
  assert.equal(coefficientFor(term, p, 8), 0.05 / 16);
});

test('per-weight-tensor c: each tensor λ_E = c/P_t; per-weight (model) c/P with P of the model', () => {
  const t = termFromGiven(given('per-weight-tensor:c=6'), {}, 'weights');
  assert.equal(coefficientFor(t, w('a.weight', 2, 3), 128), 1);
  assert.equal(coefficientFor(t, w('b.weight', 3, 4), 128), 0.5);
  const m = termFromGiven(given('per-weight:c=18'), { params: 18 }, 'weights');
  assert.equal(coefficientFor(m, w('a.weight', 2, 3), 128), 1);
  assert.equal(coefficientFor(m, w('b.weight', 3, 4), 128), 1);
});

test('layer multipliers (ConvNetJS l2_decay_mul) multiply the coefficient of matching tensors', () => {
  const term = { ...termFromGiven(given('convnetjs:l2_decay=0.256'), { batch: 128 }, 'weights'), multipliers: { 'dense1.*': 0.5, 'dense3.weight': 0 } };
  // λ_E = 0.256/(2·128) = 1e-3
  assert.equal(coefficientFor(term, w('dense1.weight', 2, 2), 128), 0.5e-3);
  assert.equal(coefficientFor(term, w('dense2.weight', 2, 2), 128), 1e-3);
  assert.equal(coefficientFor(term, w('dense3.weight', 2, 2), 128), 0);
  const lambdas = coupledCoefficients([term], [w('dense1.weight', 2, 2), createParam('dense1.bias', [2], 'bias')], 128);
  assert.deepEqual([...lambdas], [['dense1.weight', 0.5e-3]]);
});

test('--decay-params framework picks the convention\'s own default', () => {
  assert.equal(termFromGiven(given('pytorch-sgd:weight_decay=1e-4'), {}, 'framework').decayParams, 'all');
  assert.equal(termFromGiven(given('sklearn-mlp:alpha=1e-4'), { batch: 8 }, 'framework').decayParams, 'weights');
  assert.equal(termFromGiven(given('pytorch-sgd:weight_decay=1e-4'), {}, 'dense1.*').decayParams, 'dense1.*');
});

test('muP: only hidden-to-hidden weights are matrix-like; they get lr/m and decay ×m', () => {
  const shapes = paramShapes(mlpSpec(784, [64, 64, 64], 10));
  const a = mupAdjustment(shapes, 4);
  assert.deepEqual(a.matrixLike, ['dense2.weight', 'dense3.weight']);
  assert.deepEqual(a.lrScale, { 'dense2.weight': 0.25, 'dense3.weight': 0.25 });
  assert.deepEqual(a.decayScale, { 'dense2.weight': 4, 'dense3.weight': 4 });
  assert.throws(() => mupAdjustment(shapes, NaN), ConfigError);
});

test('one step of sgd with a coupled, a decoupled and a step term: w ← w − η(g + 2λw) − ηc·w − δ·w', () => {
  const p = w('dense1.weight', 1, 2);
  p.value.set([1, -2]);
  const terms = [
    termFromGiven(given('seed:lambda=0.1'), {}, 'weights'),
    termFromGiven(given('keras3:weight_decay=0.2'), {}, 'weights'),
    termFromGiven(given('tfa-sgdw:weight_decay=0.01'), {}, 'weights'),
  ];
  validatePlan(terms.slice(0, 2));
  assert.throws(() => validatePlan(terms), /two decoupled decays/);
  const update = buildUpdate({ name: 'sgd', schedule: { type: 'constant', lr: 0.5 } }, terms);
  assert.deepEqual(transformNames(update), ['masked(add_l2_gradient)', 'masked(add_decayed_weights)', 'scale_by_learning_rate', 'masked(add_step_decay)']);
  const g = new Float32Array([0.4, 0.4]);
  update.update([g], update.init([p]), [p], { batchSize: 4 });
  applyUpdates([p], [g]);
  // w=1: 1 − 0.5·(0.4 + 0.2·1) − 0.5·0.2·1 − 0.01·1 = 1 − 0.3 − 0.1 − 0.01 = 0.59
  // w=−2: −2 − 0.5·(0.4 − 0.4) + 0.2 + 0.02 = −1.78
  assert.ok(Math.abs(p.value[0] - 0.59) < 1e-6, `${p.value[0]}`);
  assert.ok(Math.abs(p.value[1] + 1.78) < 1e-6, `${p.value[1]}`);
  // The logged penalty counts only the coupled term: 0.1·(1² + 2²) before the step.
  const q = w('dense1.weight', 1, 2);
  q.value.set([1, -2]);
  assert.ok(Math.abs(new Penalty(terms, [q], jsBackend).value(4) - 0.5) < 1e-12);
});

test('terms are a tagged union with checked units: a hand-built term with a bad value is refused by kind', () => {
  const good = termFromGiven(given('sklearn-mlp:alpha=0.064'), { batch: 32 }, 'weights');
  assert.equal(good.kind, 'coupled');
  assert.deepEqual(good.scaling, { per: 'batch', batch: 32 });
  // A step decay is a fraction of the weight: 1 or more is not one, nor is a negative λ_E.
  assert.throws(() => validatePlan([{ given: 'hand', kind: 'step', value: 1.5, decayParams: 'weights' } as unknown as RegTerm]), ConfigError);
  assert.throws(() => validatePlan([{ given: 'hand', kind: 'coupled', value: -1, decayParams: 'weights' } as unknown as RegTerm]), ConfigError);
});

test('a term saved by an earlier version (scale/batch beside the value) reads as today', () => {
  const old = { given: 'sklearn-mlp:alpha=0.064', kind: 'coupled' as const, value: 0.001, scale: 'batch' as const, batch: 32, decayParams: 'weights' as const };
  const term = savedTerm(old);
  assert.deepEqual(term, termFromGiven(given('sklearn-mlp:alpha=0.064'), { batch: 32 }, 'weights'));
  const p = w('dense1.weight', 3, 4);
  assert.equal(coefficientFor(term, p, 16), 0.002, 'a batch of 16 gets twice the nominal 32-batch coefficient');
  assert.throws(() => savedTerm({ ...old, batch: undefined }), /without its batch size/);
  const today = savedTerm(term);
  assert.deepEqual(today, term);
});
