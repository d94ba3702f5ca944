/**
 * Optimizer recipes: the order of each chain by transform name (the order *is* the
 * convention), one hand-computed step per recipe, and the trainer's full chain with the
 * objective's coupled L2 gradient in front.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createParam, type Param } from '../../src/tensor/param.js';
import { transformNames, applyUpdates, masked, type GradientTransformation } from '../../src/optim/transform.js';
import { addDecayedWeights, addL2Gradient, addStepDecay } from '../../src/optim/transforms.js';
import { adam, adamw, createOptimizer, momentum, nesterov, sgd, OPTIMIZERS, type OptimizerConfig } from '../../src/optim/recipes.js';
import { decayMask } from '../../src/regularization/mask.js';
import { regularizationTerm } from '../../src/regularization/plan.js';
import { decoupledDecay, l2Coefficient, stepDecay } from '../../src/regularization/units.js';
import { Trainer, type TrainConfig } from '../../src/train/trainer.js';
import type { Dataset } from '../../src/data/dataset.js';
import { jsBackend } from '../../src/kernels/js/index.js';
import { Sequential } from '../../src/nn/sequential.js';
import { SoftmaxCrossEntropy } from '../../src/loss/softmax-cross-entropy.js';
import { Rng } from '../../src/tensor/rng.js';
import { assertClose } from '../helpers/close.js';

const CHAINS: Record<string, string[]> = {
  sgd: ['scale_by_learning_rate'],
  momentum: ['trace_momentum', 'scale_by_learning_rate'],
  nesterov: ['trace_momentum(nesterov)', 'scale_by_learning_rate'],
  adam: ['scale_by_adam', 'scale_by_learning_rate'],
  adamw: ['scale_by_adam', 'masked(add_decayed_weights)', 'scale_by_learning_rate'],
};

test('recipe chains in application order', () => {
  const mask = decayMask('weights');
  assert.deepEqual(transformNames(sgd(0.1)), CHAINS.sgd);
  assert.deepEqual(transformNames(momentum(0.1, 0.9)), CHAINS.momentum);
  assert.deepEqual(transformNames(momentum(0.1, 0.9, 0.5)), CHAINS.momentum);
  assert.deepEqual(transformNames(nesterov(0.1, 0.9)), CHAINS.nesterov);
  assert.deepEqual(transformNames(adam(0.001)), CHAINS.adam);
  assert.deepEqual(transformNames(adamw(0.001, decoupledDecay(0.01), mask)), CHAINS.adamw);
});

test('createOptimizer builds the same chain for every optimizer name, decay in its slot', () => {
  assert.deepEqual([...OPTIMIZERS], ['sgd', 'momentum', 'nesterov', 'adam', 'adamw']);
  const decay = masked(addDecayedWeights(decoupledDecay(0.01)), decayMask('weights'));
  for (const name of OPTIMIZERS) {
    const slots = name === 'adamw' ? { afterMoments: [decay] } : {};
    const t = createOptimizer({ name, schedule: { type: 'constant', lr: 0.01 } }, slots);
    assert.deepEqual(transformNames(t), CHAINS[name], name);
  }
});

test('createOptimizer slots: coupled before the moments, decoupled after, lr-independent last', () => {
  const mask = decayMask('weights');
  const t = createOptimizer({ name: 'momentum', schedule: { type: 'constant', lr: 0.1 }, momentum: 0.9, lrScale: { 'dense2.weight': 0.5 } }, {
    beforeMoments: [masked(addL2Gradient(l2Coefficient(1e-4)), mask)],
    afterMoments: [masked(addDecayedWeights(decoupledDecay(1e-3)), mask)],
    afterLr: [masked(addStepDecay(stepDecay(1e-5)), mask)],
  });
  assert.deepEqual(transformNames(t), ['masked(add_l2_gradient)', 'trace_momentum', 'masked(add_decayed_weights)',
    'scale_by_param', 'scale_by_learning_rate', 'masked(add_step_decay)']);
});

function params(): Param[] {
  const w = createParam('dense1.weight', [1, 2], 'dense-weight');
  w.value.set([2, -1]);
  const b = createParam('dense1.bias', [1], 'bias');
  b.value.set([3]);
  return [w, b];
}

/** Runs one step of `t` with gradients g and returns the new parameter values. */
function step(t: GradientTransformation<any>, g: number[][], ps = params(), state = t.init(ps)): number[][] {
  const u = g.map((v) => new Float32Array(v));
  t.update(u, state, ps);
  applyUpdates(ps, u);
  return ps.map((p) => [...p.value]);
}

function near(actual: number[][], expected: number[][], what: string): void {
  actual.forEach((row, i) => row.forEach((v, j) => {
    assert.ok(Math.abs(v - expected[i][j]) <= 1e-6 * Math.max(1, Math.abs(expected[i][j])), `${what}[${i}][${j}] = ${v}, expected ${expected[i][j]}`);
  }));
}

test('one step of each recipe, by hand', () => {
  const g = [[0.5, -2], [1]];
  // SGD: w − η·g = [2 − 0.05, −1 + 0.2], [3 − 0.1]
  near(step(sgd(0.1), g), [[1.95, -0.8], [2.9]], 'sgd');
  // Momentum, first step b = g: same as SGD.
  near(step(momentum(0.1, 0.9), g), [[1.95, -0.8], [2.9]], 'momentum');
  // Nesterov, first step u = g + 0.9·g = 1.9·g: w − 0.19·g = [2 − 0.095, −1 + 0.38], [3 − 0.19]
  near(step(nesterov(0.1, 0.9), g), [[1.905, -0.62], [2.81]], 'nesterov');
  // Adam, first step u ≈ sign(g): w − 0.01·sign(g)
  near(step(adam(0.01), g), [[1.99, -0.99], [2.99]], 'adam');
  // AdamW c = 0.1 on weights only: w − 0.01·(sign(g) + 0.1·w) = [2 − 0.01·1.2, −1 − 0.01·(−1 − 0.1)], bias as Adam
  near(step(adamw(0.01, decoupledDecay(0.1), decayMask('weights')), g), [[1.988, -0.989], [2.99]], 'adamw');
  // AdamW with 'all': the bias decays too: 3 − 0.01·(1 + 0.3) = 2.987
  near(step(adamw(0.01, decoupledDecay(0.1), decayMask('all')), g), [[1.988, -0.989], [2.987]], 'adamw all');
});

test('momentum recipe, two steps: w₂ = w₁ − η·(μ·g₁ + g₂)', () => {
  const ps = params();
  const t = momentum(0.1, 0.9);
  const s = t.init(ps);
  step(t, [[1, 1], [1]], ps, s);
  // b = 0.9·1 + 2 = 2.9 for every entry: w = w₀ − 0.1 − 0.29
  near(step(t, [[2, 2], [2]], ps, s), [[2 - 0.39, -1 - 0.39], [3 - 0.39]], 'momentum step 2');
});

// ---------------------------------------------------------------------------------------------
// The trainer's chain

function dataset(count: number, features: number, classes: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const images = new Float32Array(count * features).map(() => rng.uniform());
  const labels = new Int32Array(count).map(() => rng.int(classes));
  return { images, labels, count, features, classes, shape: [features] };
}

function config(optimizer: OptimizerConfig, l2: number, batchSize = 4): TrainConfig {
  const regularization: TrainConfig['regularization'] = [regularizationTerm(`seed:lambda=${l2}`)];
  if (optimizer.name === 'adamw') regularization.push(regularizationTerm('pytorch-adamw:weight_decay=0.01'));
  return {
    model: { inputSize: 3, classes: 2, layers: [{ type: 'dense', units: 4 }, { type: 'tanh' }, { type: 'dense', units: 2 }] },
    optimizer, regularization, batchSize, epochs: 1, seed: 17,
  };
}

test("Trainer.chainNames() starts with 'masked(add_l2_gradient)', then the recipe", () => {
  const data = dataset(8, 3, 2, 1);
  for (const name of OPTIMIZERS) {
    const trainer = new Trainer(config({ name, schedule: { type: 'constant', lr: 0.01 } }, 1e-3), jsBackend, data);
    const names = trainer.chainNames();
    assert.equal(names[0], 'masked(add_l2_gradient)', name);
    assert.deepEqual(names, ['masked(add_l2_gradient)', ...CHAINS[name]], name);
  }
});

test('Trainer SGD step: w ← w − η·(∂CE/∂w + 2λ_E·w) on weights, b ← b − η·∂CE/∂b', () => {
  const data = dataset(4, 3, 2, 2);
  const lr = 0.5, l2 = 0.05;
  const trainer = new Trainer(config({ name: 'sgd', schedule: { type: 'constant', lr } }, l2), jsBackend, data);
  // Reference: the same model (same seed → same initial weights), gradients by hand.
  const ref = new Sequential(trainer.config.model, { backend: jsBackend, maxBatch: 4, seed: 17 });
  trainer.model.params.forEach((p, k) => assert.deepEqual(p.value, ref.params[k].value, `${p.name} initial`));
  const ce = new SoftmaxCrossEntropy(jsBackend, 2, 4);
  ref.zeroGrad();
  const loss = ce.forwardBackward(ref.forward(data.images, 4, true), data.labels, 4);
  ref.backward(ce.grad(4), 4);
  const { dataLoss, penalty } = trainer.trainStep(data.images, data.labels, 4);
  assert.ok(Math.abs(dataLoss - loss) < 1e-12, `data loss ${dataLoss} vs ${loss}`);
  let sumSq = 0;
  for (const p of ref.params) if (p.kind === 'dense-weight') for (const v of p.value) sumSq += v * v;
  assert.ok(Math.abs(penalty - l2 * sumSq) < 1e-9 * l2 * sumSq, `penalty ${penalty} vs λΣw² ${l2 * sumSq}`);
  trainer.model.params.forEach((p, k) => {
    const r = ref.params[k];
    const expected = Array.from(r.value, (w, i) => w - lr * (r.grad[i] + (r.kind === 'dense-weight' ? 2 * l2 * w : 0)));
    assertClose(p.value, expected, 1e-6, `${p.name} after one step`);
    // The decay is visible: without the L2 term the weights would differ.
    if (p.kind === 'dense-weight') {
      const noDecay = Array.from(r.value, (w, i) => w - lr * r.grad[i]);
      assert.ok(p.value.some((v, i) => Math.abs(v - noDecay[i]) > 1e-4), `${p.name} is decayed`);
    }
  });
});

test('Trainer.regularizationSummary for the worked example (N = 50 000, B = 128, η = 0.1, λ_E = 2.5e-4)', () => {
  const data = dataset(50000, 3, 2, 3);
  const trainer = new Trainer(config({ name: 'sgd', schedule: { type: 'constant', lr: 0.1 } }, 2.5e-4, 128), jsBackend, data);
  assert.equal(trainer.stepsPerEpoch, 391);
  const [decayed, rest] = trainer.regularizationSummary();
  assert.deepEqual(decayed.tensors, ['dense1.weight', 'dense2.weight']);
  assert.equal(decayed.size, 3 * 4 + 4 * 2);
  assert.ok(Math.abs(decayed.deltaPerStep! - 5e-5) < 1e-18);
  assert.equal(decayed.shrinkPerEpoch!.toFixed(5), '0.98064');
  assert.deepEqual(rest.tensors, ['dense1.bias', 'dense2.bias']);
  assert.equal(rest.deltaPerStep, 0);
});
