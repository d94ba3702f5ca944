/**
 * The leaf transforms, combinators, state (de)serialization and schedules, on hand-computed
 * numbers (the arithmetic is in the comments). Values pass through float32 buffers, so
 * comparisons allow float32 rounding (~6e-8 relative).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, DataError } from '../../src/errors.js';
import { createParam, type Param } from '../../src/tensor/param.js';
import { applyUpdates, chain, masked, transformNames } from '../../src/optim/transform.js';
import {
  addDecayedWeights, addL2Gradient, addStepDecay, scaleByAdam, scaleByLearningRate, traceMomentum,
} from '../../src/optim/transforms.js';
import { createSchedule, peakLearningRate, type ScheduleSpec } from '../../src/optim/schedule.js';
import { flattenState, restoreState } from '../../src/optim/state.js';
import { decayMask } from '../../src/regularization/mask.js';
import { decoupledDecay, l2Coefficient, stepDecay } from '../../src/regularization/units.js';

/** One parameter "w" of the given values (a rank-1 tensor; masks are not involved). */
function param(values: number[], name = 'w', shape: number[] = [values.length]): Param {
  const p = createParam(name, shape, shape.length >= 2 ? 'dense-weight' : 'bias');
  p.value.set(values);
  return p;
}

function near(actual: ArrayLike<number>, expected: number[], what: string, rtol = 1e-6): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= rtol * Math.max(1, Math.abs(expected[i])),
      `${what}[${i}] = ${actual[i]}, expected ${expected[i]}`);
  }
}

const f32 = (values: number[]) => new Float32Array(values);

// ---------------------------------------------------------------------------------------------
// Momentum

test('traceMomentum μ=0.9: buffers [1,2] then [3.9,5.8]', () => {
  const p = [param([0, 0])];
  const t = traceMomentum({ momentum: 0.9 });
  assert.equal(t.name, 'trace_momentum');
  const s = t.init(p);
  assert.deepEqual(Object.keys(s.momentum), ['w']);
  assert.equal(s.count, 0);
  const u1 = [f32([1, 2])];
  t.update(u1, s, p);
  // First step: b = g = [1, 2]; the update is b.
  near(s.momentum.w, [1, 2], 'b after step 1');
  near(u1[0], [1, 2], 'u after step 1');
  const u2 = [f32([3, 4])];
  t.update(u2, s, p);
  // b = 0.9·[1, 2] + [3, 4] = [3.9, 5.8]
  near(s.momentum.w, [3.9, 5.8], 'b after step 2');
  near(u2[0], [3.9, 5.8], 'u after step 2');
  assert.equal(s.count, 2);
});

test('traceMomentum with dampening 0.5: the first step ignores dampening (PyTorch)', () => {
  const p = [param([0, 0])];
  const t = traceMomentum({ momentum: 0.9, dampening: 0.5 });
  const s = t.init(p);
  const u1 = [f32([1, 2])];
  t.update(u1, s, p);
  // First step: b = g = [1, 2], not (1 − 0.5)·g = [0.5, 1].
  near(u1[0], [1, 2], 'step 1');
  const u2 = [f32([3, 4])];
  t.update(u2, s, p);
  // b = 0.9·[1, 2] + 0.5·[3, 4] = [0.9 + 1.5, 1.8 + 2] = [2.4, 3.8]
  near(u2[0], [2.4, 3.8], 'step 2');
  near(s.momentum.w, [2.4, 3.8], 'buffer after step 2');
});

test('traceMomentum nesterov: output is u + μ·b', () => {
  const p = [param([0, 0])];
  const t = traceMomentum({ momentum: 0.9, nesterov: true });
  assert.equal(t.name, 'trace_momentum(nesterov)');
  const s = t.init(p);
  const u1 = [f32([1, 2])];
  t.update(u1, s, p);
  // b = [1, 2]; u = [1, 2] + 0.9·[1, 2] = [1.9, 3.8]
  near(u1[0], [1.9, 3.8], 'step 1');
  near(s.momentum.w, [1, 2], 'buffer after step 1 (not the nesterov output)');
  const u2 = [f32([3, 4])];
  t.update(u2, s, p);
  // b = 0.9·[1, 2] + [3, 4] = [3.9, 5.8]; u = [3, 4] + 0.9·[3.9, 5.8] = [6.51, 9.22]
  near(u2[0], [6.51, 9.22], 'step 2');
  near(s.momentum.w, [3.9, 5.8], 'buffer after step 2');
});

// ---------------------------------------------------------------------------------------------
// Adam

test('scaleByAdam: first step ≈ sign(g)/(1 + ε/|g|), second step by hand', () => {
  const p = [param([0, 0, 0, 0])];
  const t = scaleByAdam(); // β1 = 0.9, β2 = 0.999, ε = 1e-8
  const s = t.init(p);
  const g1 = [1, -2, 1e-8, 0];
  const u1 = [f32(g1)];
  t.update(u1, s, p);
  // m̂ = g, v̂ = g² after bias correction, so u = g/(|g| + ε) = sign(g)/(1 + ε/|g|):
  // [1/(1 + 1e-8), −1/(1 + 5e-9), 1e-8/(1e-8 + 1e-8) = 0.5, 0/(0 + ε) = 0]
  near(u1[0], [1 / (1 + 1e-8), -1 / (1 + 5e-9), 0.5, 0], 'step 1', 1e-6);
  assert.equal(s.count, 1);
  near(s.m.w, [0.1, -0.2, 1e-9, 0], 'm after step 1 = (1 − β1)·g');
  near(s.v.w, [0.001, 0.004, 0, 0], 'v after step 1 = (1 − β2)·g²');

  const u2 = [f32([3, 1, 0, 0])];
  t.update(u2, s, p);
  // Component 0, g = 1 then 3:
  //   m = 0.9·0.1 + 0.1·3 = 0.39,  v = 0.999·0.001 + 0.001·9 = 0.009999
  //   m̂ = 0.39/(1 − 0.81) = 2.0526316,  v̂ = 0.009999/(1 − 0.998001) = 5.0020010
  //   u = 2.0526316/(√5.0020010 + 1e-8) = 2.0526316/2.2365154 = 0.9177811
  // Component 1, g = −2 then 1:
  //   m = 0.9·(−0.2) + 0.1·1 = −0.08,  v = 0.999·0.004 + 0.001·1 = 0.004996
  //   m̂ = −0.08/0.19 = −0.4210526,  v̂ = 0.004996/0.001999 = 2.4992496
  //   u = −0.4210526/1.5809015 = −0.2663370
  near(u2[0].subarray(0, 2), [0.9177811, -0.2663370], 'step 2', 1e-6);
  assert.equal(s.count, 2);
});

test('scaleByAdam honours b1, b2 and eps', () => {
  const p = [param([0])];
  const t = scaleByAdam({ b1: 0.5, b2: 0.5, eps: 1 });
  const s = t.init(p);
  const u = [f32([2])];
  t.update(u, s, p);
  // m̂ = 2, √v̂ = 2: u = 2/(2 + 1) = 2/3
  near(u[0], [2 / 3], 'eps = 1');
  u[0][0] = 4;
  t.update(u, s, p);
  // m = 0.5·1 + 0.5·4 = 2.5, v = 0.5·2 + 0.5·16 = 9; m̂ = 2.5/0.75 = 10/3; v̂ = 9/0.75 = 12
  // u = (10/3)/(√12 + 1) = 3.3333333/4.4641016 = 0.7466975
  near(u[0], [0.7466975], 'step 2 with b1 = b2 = 0.5, eps = 1');
});

// ---------------------------------------------------------------------------------------------
// Decays and the learning rate

test('addDecayedWeights adds c·w', () => {
  const p = [param([2, -4, 0.5])];
  const u = [f32([1, 1, 1])];
  addDecayedWeights(decoupledDecay(0.1)).update(u, {}, p);
  // [1 + 0.2, 1 − 0.4, 1 + 0.05]
  near(u[0], [1.2, 0.6, 1.05], 'u + c·w');
  const v = [f32([1, 1, 1])];
  addDecayedWeights(decoupledDecay(0)).update(v, {}, p);
  near(v[0], [1, 1, 1], 'c = 0');
});

test('addL2Gradient adds 2λ_E·w (not λ_E·w)', () => {
  const p = [param([2, -4])];
  const u = [f32([1, 1])];
  addL2Gradient(l2Coefficient(0.1)).update(u, {}, p);
  // [1 + 2·0.1·2, 1 + 2·0.1·(−4)] = [1.4, 0.2]
  near(u[0], [1.4, 0.2], 'u + 2λ·w');
});

test('scaleByLearningRate multiplies by −η_t and follows a step schedule', () => {
  const p = [param([0, 0])];
  const constant = scaleByLearningRate(0.1);
  const cs = constant.init(p);
  const u = [f32([1, -3])];
  constant.update(u, cs, p);
  near(u[0], [-0.1, 0.3], 'constant 0.1');
  assert.equal(cs.count, 1);

  const stepped = scaleByLearningRate({ type: 'step', lr: 0.1, every: 2, gamma: 0.5 });
  const ss = stepped.init(p);
  const seen: number[] = [];
  for (let t = 0; t < 6; t++) {
    const v = [f32([1, 2])];
    stepped.update(v, ss, p);
    assert.ok(Math.abs(v[0][1] - 2 * v[0][0]) < 1e-9, 'one η_t for every element');
    seen.push(v[0][0]);
  }
  // η_t = 0.1·0.5^⌊t/2⌋ for t = 0..5, sign flipped
  near(seen, [-0.1, -0.1, -0.05, -0.05, -0.025, -0.025], 'step schedule');
  assert.equal(ss.count, 6);
});

test('addStepDecay subtracts δ·w', () => {
  const p = [param([2, -4])];
  const u = [f32([-0.1, 0.1])];
  addStepDecay(stepDecay(0.01)).update(u, {}, p);
  // [−0.1 − 0.02, 0.1 + 0.04]
  near(u[0], [-0.12, 0.14], 'u − δ·w');
});

// ---------------------------------------------------------------------------------------------
// Combinators

function layerParams(): Param[] {
  const w = createParam('dense1.weight', [2, 2], 'dense-weight');
  w.value.set([1, 2, 3, 4]);
  const b = createParam('dense1.bias', [2], 'bias');
  b.value.set([10, 20]);
  return [w, b];
}

test('masked() transforms selected params only; unselected pass through and get no state', () => {
  const params = layerParams();
  const t = masked(traceMomentum({ momentum: 0.9 }), decayMask('weights'));
  assert.equal(t.name, 'masked(trace_momentum)');
  const s = t.init(params);
  assert.deepEqual(Object.keys(s.momentum), ['dense1.weight']);
  const u = [f32([1, 1, 1, 1]), f32([5, 6])];
  t.update(u, s, params);
  const u2 = [f32([1, 1, 1, 1]), f32([5, 6])];
  t.update(u2, s, params);
  near(u2[0], [1.9, 1.9, 1.9, 1.9], 'masked weight: 0.9·1 + 1');
  near(u2[1], [5, 6], 'unmasked bias untouched');
  assert.deepEqual([...flattenState(s).tensors.keys()], ['opt.momentum.dense1.weight']);

  const decay = masked(addDecayedWeights(decoupledDecay(0.5)), decayMask('weights'));
  const d = [f32([0, 0, 0, 0]), f32([0, 0])];
  decay.update(d, decay.init(params), params);
  near(d[0], [0.5, 1, 1.5, 2], 'decayed weight: 0.5·w');
  near(d[1], [0, 0], 'bias not decayed');
});

test('masked() follows a new parameter list (its index cache is per list)', () => {
  const params = layerParams();
  const t = masked(addDecayedWeights(decoupledDecay(1)), (p) => p.kind === 'bias');
  t.init(params);
  const u = [f32([0, 0, 0, 0]), f32([0, 0])];
  t.update(u, {}, params);
  near(u[1], [10, 20], 'bias decayed');
  near(u[0], [0, 0, 0, 0], 'weight not');
  const reordered = [params[1], params[0]];
  const v = [f32([0, 0]), f32([0, 0, 0, 0])];
  t.update(v, {}, reordered);
  near(v[0], [10, 20], 'bias decayed after reorder');
  near(v[1], [0, 0, 0, 0], 'weight not, after reorder');
});

test('chain applies transforms in order', () => {
  const p = [param([2])];
  // decay then lr: −0.1·(1 + 0.5·2) = −0.2
  const a = chain(addDecayedWeights(decoupledDecay(0.5)), scaleByLearningRate(0.1));
  const ua = [f32([1])];
  a.update(ua, a.init(p), p);
  near(ua[0], [-0.2], 'decay → lr');
  // lr then decay: −0.1·1 + 0.5·2 = 0.9
  const b = chain(scaleByLearningRate(0.1), addDecayedWeights(decoupledDecay(0.5)));
  const ub = [f32([1])];
  b.update(ub, b.init(p), p);
  near(ub[0], [0.9], 'lr → decay');
  assert.deepEqual(transformNames(a), ['add_decayed_weights', 'scale_by_learning_rate']);
  assert.deepEqual(transformNames(b), ['scale_by_learning_rate', 'add_decayed_weights']);
  // Nested chains flatten; the state is the tuple of the children's states.
  const nested = chain(chain(traceMomentum({ momentum: 0.5 })), scaleByLearningRate(1));
  assert.deepEqual(transformNames(nested), ['trace_momentum', 'scale_by_learning_rate']);
  const ns = nested.init(p);
  assert.equal(ns.length, 2);
  assert.deepEqual(ns[1], { count: 0 });
});

test('applyUpdates adds the updates to the parameters', () => {
  const params = layerParams();
  applyUpdates(params, [f32([0.5, -1, 0, 2]), f32([-10, 1])]);
  assert.deepEqual([...params[0].value], [1.5, 1, 3, 6]);
  assert.deepEqual([...params[1].value], [0, 21]);
});

// ---------------------------------------------------------------------------------------------
// State

test('flattenState/restoreState round trip continues bit-identically', () => {
  const params = layerParams();
  const make = () => chain(scaleByAdam(), masked(addDecayedWeights(decoupledDecay(0.01)), decayMask('weights')), scaleByLearningRate(0.01));
  const t = make();
  const s = t.init(params);
  const grads = (k: number) => [f32([1, -2, 3, -4].map((v) => v * (k + 1))), f32([0.5, -0.25].map((v) => v / (k + 1)))];
  for (let k = 0; k < 3; k++) t.update(grads(k), s, params);
  const flat = flattenState(s);
  assert.deepEqual(flat.scalars, { 'opt.0.count': 3, 'opt.2.count': 3 });
  assert.deepEqual([...flat.tensors.keys()].sort(),
    ['opt.0.m.dense1.bias', 'opt.0.m.dense1.weight', 'opt.0.v.dense1.bias', 'opt.0.v.dense1.weight']);

  // A checkpoint holds copies.
  const saved = { tensors: new Map([...flat.tensors].map(([k, v]) => [k, v.slice()])), scalars: { ...flat.scalars } };
  const t2 = make();
  const s2 = t2.init(params);
  restoreState(s2, saved);
  assert.deepEqual(flattenState(s2).scalars, saved.scalars);
  for (const [k, v] of flattenState(s2).tensors) assert.deepEqual(v, saved.tensors.get(k), k);

  const a = grads(3), b = grads(3);
  t.update(a, s, params);
  t2.update(b, s2, params);
  assert.deepEqual(a, b, 'the restored optimizer produces the same next update');
  assert.ok(a[0].some((v) => v !== 0));
});

test('restoreState into another optimizer’s state, or a different model, throws DataError', () => {
  const params = layerParams();
  const adamState = chain(scaleByAdam(), scaleByLearningRate(0.1)).init(params);
  const momentumState = chain(traceMomentum({ momentum: 0.9 }), scaleByLearningRate(0.1)).init(params);
  assert.throws(() => restoreState(momentumState, flattenState(adamState)), DataError);
  assert.throws(() => restoreState(adamState, flattenState(momentumState)), DataError);
  // Same optimizer, different tensor size.
  const other = [createParam('dense1.weight', [3, 2], 'dense-weight'), createParam('dense1.bias', [2], 'bias')];
  const bigger = chain(scaleByAdam(), scaleByLearningRate(0.1)).init(other);
  assert.throws(() => restoreState(adamState, flattenState(bigger)), DataError);
  // A missing scalar.
  const flat = flattenState(adamState);
  delete flat.scalars['opt.1.count'];
  assert.throws(() => restoreState(adamState, flat), DataError);
});

// ---------------------------------------------------------------------------------------------
// Schedules

const at = (spec: ScheduleSpec, ts: number[]) => ts.map(createSchedule(spec));

test('schedules: constant and step', () => {
  near(at({ type: 'constant', lr: 0.1 }, [0, 1, 1000]), [0.1, 0.1, 0.1], 'constant');
  // 0.1·0.5^⌊t/2⌋
  near(at({ type: 'step', lr: 0.1, every: 2, gamma: 0.5 }, [0, 1, 2, 3, 4, 5, 6]),
    [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125], 'step', 1e-12);
});

test('schedules: cosine endpoints, midpoint, and hold after the end', () => {
  const spec: ScheduleSpec = { type: 'cosine', lr: 0.1, steps: 10, minLr: 0.001 };
  const [t0, t5, t10, t20] = at(spec, [0, 5, 10, 20]);
  assert.ok(Math.abs(t0 - 0.1) < 1e-15, `t=0: ${t0}`);
  assert.ok(Math.abs(t5 - 0.0505) < 1e-15, `t=5: ${t5}, expected (0.1 + 0.001)/2`);
  assert.ok(Math.abs(t10 - 0.001) < 1e-15, `t=10: ${t10}`);
  assert.ok(Math.abs(t20 - 0.001) < 1e-15, `t=20: ${t20} (held at minLr)`);
  // t = 2.5 of 10: 0.001 + 0.099·(1 + cos(π/4))/2 = 0.001 + 0.099·0.8535534 = 0.0855018
  near(at(spec, [2.5]), [0.0855018], 'quarter', 1e-6);
  const series = at(spec, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  for (let i = 1; i < series.length; i++) assert.ok(series[i] < series[i - 1], 'cosine decays monotonically');
});

test('schedules: warm-up ramps lr·(t+1)/steps, then runs its inner schedule from t = 0', () => {
  near(at({ type: 'warmup', steps: 4, then: { type: 'constant', lr: 0.1 } }, [0, 1, 2, 3, 4, 100]),
    [0.025, 0.05, 0.075, 0.1, 0.1, 0.1], 'warmup → constant', 1e-12);
  // Inner step schedule 0.2·0.1^⌊t'/3⌋ with t' = t − 2.
  near(at({ type: 'warmup', steps: 2, then: { type: 'step', lr: 0.2, every: 3, gamma: 0.1 } }, [0, 1, 2, 4, 5, 8]),
    [0.1, 0.2, 0.2, 0.2, 0.02, 0.002], 'warmup → step', 1e-12);
  assert.equal(peakLearningRate({ type: 'warmup', steps: 2, then: { type: 'cosine', lr: 0.3, steps: 5, minLr: 0 } }), 0.3);
});

test('invalid schedules throw ConfigError', () => {
  const bad: unknown[] = [
    { type: 'constant', lr: 0 }, { type: 'constant', lr: -0.1 }, { type: 'constant', lr: NaN }, { type: 'constant', lr: Infinity },
    { type: 'step', lr: 0.1, every: 0, gamma: 0.5 }, { type: 'step', lr: 0.1, every: 1.5, gamma: 0.5 },
    { type: 'step', lr: 0.1, every: 2, gamma: 0 }, { type: 'step', lr: 0.1, every: 2, gamma: -1 },
    { type: 'cosine', lr: 0.1, steps: 0, minLr: 0 }, { type: 'cosine', lr: 0.1, steps: 10, minLr: -0.01 },
    { type: 'cosine', lr: 0.1, steps: 2.5, minLr: 0 },
    { type: 'warmup', steps: 0, then: { type: 'constant', lr: 0.1 } },
    { type: 'warmup', steps: 5, then: { type: 'constant', lr: -1 } },
    { type: 'exponential', lr: 0.1 },
  ];
  for (const spec of bad) {
    assert.throws(() => createSchedule(spec as ScheduleSpec), ConfigError, JSON.stringify(spec));
  }
  assert.throws(() => scaleByLearningRate(-0.1), ConfigError);
  assert.throws(() => scaleByLearningRate(0), ConfigError);
});
