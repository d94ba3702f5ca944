/**
 * The fused optimizer step (optim/fused.ts + Backend.optimizerStep) against the plain
 * transform-by-transform path (`update` then `applyUpdates`), for every recipe and every way a
 * regularization term enters the chain, on every backend (js, native, wasm; a backend that does
 * not load fails, as in the PyTorch parity suite).
 *
 * Each case runs STEPS steps from the same weights and gradients both ways and compares the
 * parameters, the applied updates and the whole optimizer state (buffers and counts, through
 * flattenState) after every step. The stated tolerance is 1e-6 relative, norm-wise
 * (test/helpers/close.ts); the contract in kernels/optimizer-ops.ts is stronger — every op
 * rounds where the transforms store, so the results are bit-identical — and that is asserted too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/kernels/backend.js';
import { loadBackends } from '../../src/kernels/select-node.js';
import { createParam, type Param } from '../../src/tensor/param.js';
import { Rng } from '../../src/tensor/rng.js';
import { applyUpdates, chain, masked, type GradientTransformation, type StepContext } from '../../src/optim/transform.js';
import {
  addDecayedWeights, addL2Gradient, addStepDecay, scaleByAdam, scaleByLearningRate, scaleByParam, traceMomentum,
} from '../../src/optim/transforms.js';
import { adam, adamw, createOptimizer, momentum, nesterov, sgd, OPTIMIZERS, type OptimizerConfig } from '../../src/optim/recipes.js';
import { Updater } from '../../src/optim/fused.js';
import { flattenState, restoreState } from '../../src/optim/state.js';
import { decayMask } from '../../src/regularization/mask.js';
import { regularizationTerm, type RegTerm } from '../../src/regularization/plan.js';
import { decoupledDecay, l2Coefficient, stepDecay } from '../../src/regularization/units.js';
import { buildUpdate } from '../../src/train/objective.js';
import { Trainer } from '../../src/train/trainer.js';
import { createDataset } from '../../src/data/dataset.js';
import { mlpSpec } from '../../src/nn/spec.js';
import { assertClose } from '../helpers/close.js';

const TOLERANCE = 1e-6;
const STEPS = 7;
/** Batch sizes per step: the last batches of an epoch are smaller (per-batch coefficients see it). */
const BATCHES = [32, 32, 32, 20, 32, 32, 7];

// Sizes cross the kernels' 512-element blocks and are not multiples of 4 (vector tails).
const SHAPES: [string, number[], 'dense-weight' | 'bias'][] = [
  ['dense1.weight', [37, 29], 'dense-weight'], ['dense1.bias', [37], 'bias'],
  ['dense2.weight', [3, 37], 'dense-weight'], ['dense2.bias', [3], 'bias'],
];

function makeParams(seed: number): Param[] {
  const rng = new Rng(seed);
  return SHAPES.map(([name, shape, kind]) => {
    const p = createParam(name, shape, kind);
    for (let i = 0; i < p.value.length; i++) p.value[i] = 0.3 * rng.normal();
    return p;
  });
}

/** Gradients of one step; a few exact zeros (Adam's 0/(0 + ε), sign-of-zero paths). */
function gradients(params: Param[], rng: Rng): Float32Array[] {
  return params.map((p) => Float32Array.from(p.value, (_, i) => (i % 17 === 0 ? 0 : rng.normal() * (1 + (i % 5)))));
}

const constant = (lr: number) => ({ type: 'constant' as const, lr });
const weights = decayMask('weights');
const all = decayMask('all');
const term = (text: string, context = {}, decay: 'weights' | 'all' = 'weights'): RegTerm => regularizationTerm(text, context, decay);
const optimizer = (o: Partial<OptimizerConfig> & Pick<OptimizerConfig, 'name'>): OptimizerConfig => ({ schedule: constant(0.05), ...o });

const CASES: [string, () => GradientTransformation<any>][] = [
  ['sgd', () => sgd(0.1)],
  ['momentum', () => momentum(0.05, 0.9)],
  ['momentum with dampening', () => momentum(0.05, 0.9, 0.5)],
  ['nesterov', () => nesterov(0.05, 0.9)],
  ['adam (ε after the bias correction)', () => adam(0.01)],
  ['adam (ε-hat, uncorrected placement)', () => adam(0.01, { epsilon: 'uncorrected', eps: 1e-3, b1: 0.8, b2: 0.99 })],
  ['adamw (decay on weights only)', () => adamw(0.01, decoupledDecay(0.1), weights)],
  ['coupled L2 + momentum', () => chain(masked(addL2Gradient(l2Coefficient(1e-3)), weights), traceMomentum({ momentum: 0.9 }), scaleByLearningRate(0.05))],
  ['coupled L2 + adam (PyTorch Adam weight_decay)', () => chain(masked(addL2Gradient(l2Coefficient(5e-3)), all), scaleByAdam(), scaleByLearningRate(0.01))],
  ['decoupled decay after nesterov, step schedule', () => chain(traceMomentum({ momentum: 0.9, nesterov: true }),
    masked(addDecayedWeights(decoupledDecay(0.05)), weights), scaleByLearningRate({ type: 'step', lr: 0.1, every: 2, gamma: 0.5 }))],
  ['lr-independent step decay after the learning rate', () => createOptimizer(optimizer({ name: 'momentum', momentum: 0.9 }),
    { afterLr: [masked(addStepDecay(stepDecay(1e-3)), all)] })],
  ['per-parameter lrScale multipliers', () => createOptimizer(optimizer({ name: 'adam', lrScale: { 'dense1.weight': 0.25, 'dense2.bias': 3 } }))],
  ['per-batch coupled coefficient (scikit-learn alpha)', () => buildUpdate(optimizer({ name: 'nesterov', momentum: 0.9 }),
    [term('sklearn-mlp:alpha=0.064', { batch: 32 })])],
  ['per-parameter coefficient functions (per tensor, multipliers)', () => buildUpdate(optimizer({ name: 'momentum', momentum: 0.8, dampening: 0.1 }),
    [{ ...term('per-weight-tensor:c=0.05', {}, 'all'), multipliers: { 'dense2.*': 4 } }])],
  ['adamw from terms, cosine schedule after warm-up', () => buildUpdate(
    optimizer({ name: 'adamw', schedule: { type: 'warmup', steps: 2, then: { type: 'cosine', lr: 0.01, steps: 4, minLr: 0.001 } } }),
    [term('pytorch-adamw:weight_decay=0.1'), term('seed:lambda=1e-3')])],
  ['everything at once', () => createOptimizer(
    optimizer({ name: 'nesterov', momentum: 0.9, lrScale: { 'dense2.weight': 0.5 }, schedule: { type: 'step', lr: 0.1, every: 3, gamma: 0.3 } }), {
      beforeMoments: [masked(addL2Gradient((p, s) => l2Coefficient(p.kind === 'dense-weight' ? 0.2 / s.batchSize : 0)), all)],
      afterMoments: [masked(addDecayedWeights(decoupledDecay(0.02)), weights)],
      afterLr: [masked(addStepDecay((p) => stepDecay(p.name === 'dense1.weight' ? 1e-3 : 2e-4)), decayMask('dense1.*'))],
    })],
];

const backends = await loadBackends();
for (const b of backends) {
  if ('error' in b) test(`fused step: the ${b.name} backend loads`, () => assert.fail(`${b.name}: ${b.error}`));
}
const loaded = backends.flatMap((b) => ('backend' in b ? [b.backend] : []));

/** Asserts a and b are within TOLERANCE and bit-identical. */
function same(actual: Float32Array, expected: Float32Array, what: string): void {
  assertClose(actual, expected, TOLERANCE, what);
  const i = actual.findIndex((v, k) => !Object.is(v, expected[k]));
  assert.ok(i < 0, `${what}: not bit-identical at ${i}: ${actual[i]} vs ${expected[i]}`);
}

function sameState(actual: unknown, expected: unknown, what: string): void {
  const a = flattenState(actual), e = flattenState(expected);
  assert.deepEqual(a.scalars, e.scalars, `${what}: counts`);
  assert.deepEqual([...a.tensors.keys()], [...e.tensors.keys()], `${what}: state tensors`);
  for (const [k, t] of e.tensors) same(a.tensors.get(k)!, t, `${what}: ${k}`);
}

for (const backend of loaded) {
  for (const [name, make] of CASES) {
    test(`fused step [${backend.name}]: ${name} matches the transforms for ${STEPS} steps, state included`, () => {
      const reference = make(), fused = make();
      const refParams = makeParams(1), fusedParams = makeParams(1);
      const refState = reference.init(refParams), fusedState = fused.init(fusedParams);
      const updater = new Updater(fused, backend);
      const rng = new Rng(2);
      const fusedUpdates = fusedParams.map((p) => new Float32Array(p.value.length));
      for (let step = 0; step < STEPS; step++) {
        const ctx: StepContext = { batchSize: BATCHES[step] };
        const g = gradients(refParams, rng);
        // The same gradients into the updater's fixed buffers (its programs are compiled once for them).
        g.forEach((gi, i) => fusedUpdates[i].set(gi));
        reference.update(g, refState, refParams, ctx);
        applyUpdates(refParams, g);
        updater.apply(fusedUpdates, fusedState, fusedParams, ctx);
        assert.ok(updater.fused, 'every transform of this chain describes itself');
        fusedParams.forEach((p, i) => {
          same(p.value, refParams[i].value, `step ${step + 1} ${p.name}`);
          same(fusedUpdates[i], g[i], `step ${step + 1} update of ${p.name}`);
        });
        sameState(fusedState, refState, `step ${step + 1}`);
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Falling back, recompiling

/** A user's transform with no `fuse`: u ← clip(u, ±0.5). */
const clip = (): GradientTransformation<Record<string, never>> => ({
  name: 'clip', children: [],
  init: () => ({}),
  update(updates) {
    for (const u of updates) for (let j = 0; j < u.length; j++) u[j] = Math.max(-0.5, Math.min(0.5, u[j]));
  },
});

test('fused step: a chain with an undescribed transform (even masked) runs through update, with the same result', () => {
  const makers: (() => GradientTransformation<any>)[] = [() => chain(clip(), traceMomentum({ momentum: 0.9 }), scaleByLearningRate(0.1)),
    () => chain(traceMomentum({ momentum: 0.9 }), masked(clip(), weights), scaleByLearningRate(0.1))];
  for (const make of makers) {
    const reference = make(), fused = make();
    const refParams = makeParams(3), params = makeParams(3);
    const refState = reference.init(refParams), state = fused.init(params);
    const updater = new Updater(fused, loaded[0]);
    const rng = new Rng(4);
    const updates = params.map((p) => new Float32Array(p.value.length));
    for (let step = 0; step < 3; step++) {
      const g = gradients(refParams, rng);
      g.forEach((gi, i) => updates[i].set(gi));
      reference.update(g, refState, refParams);
      applyUpdates(refParams, g);
      updater.apply(updates, state, params);
      assert.equal(updater.fused, false);
      params.forEach((p, i) => same(p.value, refParams[i].value, `step ${step + 1} ${p.name}`));
    }
  }
});

test('fused step: programs follow a new state object (a restored checkpoint) and new update buffers', () => {
  const backend = loaded[0];
  const t = chain(masked(addL2Gradient(l2Coefficient(1e-3)), weights), scaleByAdam(), scaleByParam({ 'dense2.bias': 2 }), scaleByLearningRate(0.01));
  const reference = makeParams(5), params = makeParams(5);
  const refState = t.init(reference);
  let state = t.init(params);
  const updater = new Updater(t, backend);
  const rng = new Rng(6);
  for (let step = 0; step < 4; step++) {
    const g = gradients(reference, rng);
    const updates = g.map((gi) => gi.slice()); // new buffers every step
    t.update(g, refState, reference);
    applyUpdates(reference, g);
    if (step === 2) { // resume into a fresh state, as the trainer's restore does
      const saved = flattenState(state);
      state = t.init(params);
      restoreState(state, saved);
    }
    updater.apply(updates, state, params);
    assert.ok(updater.fused);
    params.forEach((p, i) => same(p.value, reference[i].value, `step ${step + 1} ${p.name}`));
    sameState(state, refState, `step ${step + 1}`);
  }
});

test('Trainer: every optimizer, with each kind of regularization term, steps through the fused path on every backend', () => {
  const rng = new Rng(8);
  const x = Float32Array.from({ length: 12 * 6 }, () => rng.normal()), y = Int32Array.from({ length: 12 }, (_, i) => i % 3);
  const data = createDataset(x, y, [6], 3);
  const terms = [term('seed:lambda=1e-3'), term('pytorch-adamw:weight_decay=0.01'), term('tfa-sgdw:weight_decay=1e-4')];
  for (const backend of loaded) for (const name of OPTIMIZERS) for (const t of terms) {
    if (name === 'adamw' && t.kind === 'coupled') continue; // adamw needs a decoupled term
    const trainer = new Trainer({
      model: mlpSpec(6, [5], 3, 'relu'), optimizer: optimizer({ name }), regularization: [t], batchSize: 4, epochs: 1, seed: 1,
    }, backend, data);
    trainer.trainStep(x.subarray(0, 24), y.subarray(0, 4), 4);
    assert.ok(trainer.updater.fused, `${backend.name} ${name} ${t.given}`);
  }
});
