/**
 * Central-difference gradient checks. Buffers are float32, so each check perturbs a float32
 * entry by h, divides by the step that was actually stored (fround(w ± h) − w, not 2h), and
 * sums the loss in float64 from the float32 outputs. With h = 3e-3 the truncation error of a
 * smooth function is O(h²) ≈ 1e-5 relative and float32 rounding of the outputs contributes
 * ~1e-7/h ≈ 3e-5 (observed worst: 1.1e-4, a dense2.bias entry of the 6-5-4-3 model), so the
 * tolerances below (2e-3 norm-wise for smooth nets, 1e-3 for single layers) leave a wide margin
 * while any real bug (a wrong sign, transpose or factor) shows up as an O(1) relative error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsBackend } from '../../src/kernels/js/index.js';
import type { Backend } from '../../src/kernels/backend.js';
import { Dense } from '../../src/nn/dense.js';
import { GELU, ReLU, Tanh } from '../../src/nn/activations.js';
import { Dropout } from '../../src/nn/dropout.js';
import type { Layer, LayerContext } from '../../src/nn/layer.js';
import { Sequential } from '../../src/nn/sequential.js';
import type { ModelSpec } from '../../src/nn/spec.js';
import { SoftmaxCrossEntropy } from '../../src/loss/softmax-cross-entropy.js';
import { l2Penalty } from '../../src/regularization/penalty.js';
import { l2Coefficient } from '../../src/regularization/units.js';
import { decayMask } from '../../src/regularization/mask.js';
import { addL2Gradient } from '../../src/optim/transforms.js';
import { masked } from '../../src/optim/transform.js';
import { Rng } from '../../src/tensor/rng.js';
import { assertClose } from '../helpers/close.js';
import { centralDifference, checkLayer, normal, numericGradient, project } from '../helpers/gradcheck.js';

const backend: Backend = jsBackend;

const ctx = (maxBatch: number): LayerContext => ({ backend, maxBatch });

test('Dense: weight, bias and input gradients match central differences', () => {
  const rng = new Rng(101);
  const dense = new Dense('dense1', 5, 3, ctx(8));
  dense.weight.value.set(normal(rng, 15, 0.7));
  dense.bias.value.set(normal(rng, 3, 0.5));
  const batch = 4; // smaller than maxBatch: views of the layer's buffers
  const x = normal(rng, batch * 5);
  checkLayer(dense, x, batch, rng, 1e-3, 'Dense');
});

test('Dense: forward is x·Wᵀ + b with W stored [out, in], and backward accumulates', () => {
  const dense = new Dense('d', 2, 3, ctx(2));
  dense.weight.value.set([1, 2, 3, 4, 5, 6]); // rows: out units
  dense.bias.value.set([0.5, -1, 2]);
  const x = new Float32Array([1, -1, 2, 0.5]);
  // row 0: [1−2, 3−4, 5−6] + b = [−0.5, −2, 1]; row 1: [2+1, 6+2, 10+3] + b = [3.5, 7, 15]
  assert.deepEqual([...(dense as Layer).forward(x, 2, false)], [-0.5, -2, 1, 3.5, 7, 15]);
  const dy = new Float32Array([1, 0, -1, 2, 1, 0]);
  dense.backward(dy, 2, false);
  // dW = dyᵀ·x: [[1·1 + 2·2, 1·−1 + 2·0.5], [0 + 1·2, 0 + 1·0.5], [−1·1, −1·−1]]
  assert.deepEqual([...dense.weight.grad], [5, 0, 2, 0.5, -1, 1]);
  assert.deepEqual([...dense.bias.grad], [3, 1, -1]);
  const noGrad = dense.backward(dy, 2, false);
  assert.equal(noGrad.length, 0, 'needInputGrad=false returns an empty array');
  assert.deepEqual([...dense.weight.grad], [10, 0, 4, 1, -2, 2], 'a second backward accumulates');
  assert.deepEqual([...dense.bias.grad], [6, 2, -2]);
  // dx = dy·W: row 0: [1 − 5, 2 − 6] = [−4, −4]; row 1: [2 + 3, 4 + 4] = [5, 8]
  assert.deepEqual([...dense.backward(dy, 2, true)], [-4, -4, 5, 8]);
});

test('ReLU: input gradient matches central differences away from the kink', () => {
  const rng = new Rng(102);
  const relu = new ReLU('relu1', 6, ctx(5));
  const batch = 5;
  // |x| ≥ 0.1 > h: x ± h never crosses 0, so the finite difference sees one linear piece.
  const x = new Float32Array(batch * 6).map(() => (rng.uniform() < 0.5 ? -1 : 1) * (0.1 + rng.uniform()));
  assert.ok(x.some((v) => v < 0) && x.some((v) => v > 0), 'both sides of the kink are exercised');
  checkLayer(relu, x, batch, rng, 1e-4, 'ReLU');
});

test('Tanh: input gradient matches central differences', () => {
  const rng = new Rng(103);
  const layer = new Tanh('tanh1', 6, ctx(5));
  checkLayer(layer, normal(rng, 5 * 6, 1.5), 5, rng, 2e-3, 'Tanh');
});

test('GELU: input gradient matches central differences', () => {
  const rng = new Rng(104);
  const layer = new GELU('gelu1', 6, ctx(5));
  checkLayer(layer, normal(rng, 4 * 6, 2), 4, rng, 2e-3, 'GELU');
});

test('Dropout (training): y ∈ {0, x/(1−p)} and backward is dy·(y/x)', () => {
  const rng = new Rng(105);
  const p = 0.3, size = 50, batch = 4;
  const dropout = new Dropout('dropout1', size, p, new Rng(7), ctx(batch));
  // Entries bounded away from 0 so y/x is well defined.
  const x = new Float32Array(batch * size).map(() => (rng.uniform() < 0.5 ? -1 : 1) * (0.25 + rng.uniform()));
  const y = dropout.forward(x, batch, true).slice();
  let kept = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] === 0) continue;
    kept++;
    assert.ok(Math.abs(y[i] - x[i] / (1 - p)) <= 1e-6 * Math.abs(x[i]), `y[${i}] = ${y[i]}, x/(1−p) = ${x[i] / (1 - p)}`);
  }
  // 200 Bernoulli(0.7) draws: mean 140, sd ≈ 6.5.
  assert.ok(kept > 110 && kept < 170, `kept ${kept} of 200 with keep probability 0.7`);
  const dy = normal(rng, batch * size);
  const dx = dropout.backward(dy, batch, true);
  assertClose(dx, Array.from(dy, (g, i) => g * (y[i] / x[i])), 1e-6, 'dropout dx = dy·y/x');
  for (let i = 0; i < y.length; i++) if (y[i] === 0) assert.ok(dx[i] === 0, `dropped unit ${i} gets gradient ${dx[i]}`);
});

test('Dropout (training): central differences with the mask held fixed', () => {
  const rng = new Rng(106);
  const maskRng = new Rng(8);
  const dropout = new Dropout('dropout1', 10, 0.5, maskRng, ctx(3));
  const x = normal(rng, 3 * 10);
  const r = normal(rng, 3 * 10);
  const saved = maskRng.state();
  dropout.forward(x, 3, true);
  const dx = dropout.backward(r, 3, true).slice();
  // Dropout draws a new mask per forward: rewind its Rng so every forward re-draws the same one.
  const loss = () => { maskRng.setState(saved); return project(dropout.forward(x, 3, true), r); };
  assertClose(dx, numericGradient(x, loss), 1e-3, 'dropout input gradient');
  assert.ok(dx.some((v) => v === 0) && dx.some((v) => v !== 0), 'mask drops some units and keeps others');
});

test('Dropout (eval, and rate 0): identity forward and backward', () => {
  const rng = new Rng(107);
  const dropout = new Dropout('dropout1', 8, 0.4, new Rng(9), ctx(2));
  const x = normal(rng, 16), dy = normal(rng, 16);
  assert.deepEqual([...dropout.forward(x, 2, false)], [...x]);
  assert.deepEqual([...dropout.backward(dy, 2, true)], [...dy]);
  const none = new Dropout('dropout2', 8, 0, new Rng(9), ctx(2));
  assert.deepEqual([...none.forward(x, 2, true)], [...x]);
  assert.deepEqual([...none.backward(dy, 2, true)], [...dy]);
  // After an eval forward, a training layer's backward must not re-apply an old mask.
  dropout.forward(x, 2, true);
  dropout.forward(x, 2, false);
  assert.deepEqual([...dropout.backward(dy, 2, true)], [...dy]);
});

test('softmax cross-entropy: mean loss and its gradient wrt logits', () => {
  const rng = new Rng(108);
  const classes = 5, batch = 6;
  const ce = new SoftmaxCrossEntropy(backend, classes, 8);
  const logits = normal(rng, batch * classes, 2);
  const labels = new Int32Array(batch).map(() => rng.int(classes));
  const mean = ce.forwardBackward(logits, labels, batch);
  // The mean, in float64, from the definition.
  let expected = 0;
  for (let r = 0; r < batch; r++) {
    const row = Array.from(logits.subarray(r * classes, (r + 1) * classes));
    const max = Math.max(...row);
    expected += max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) - row[labels[r]];
  }
  expected /= batch;
  assert.ok(Math.abs(mean - expected) < 1e-12 * expected, `mean CE ${mean}, expected ${expected}`);
  const grad = ce.grad(batch).slice();
  assert.equal(grad.length, batch * classes);
  assertClose(grad, numericGradient(logits, () => ce.forwardBackward(logits, labels, batch)), 1e-3, 'd(mean CE)/d logits');
});

const SPEC: ModelSpec = {
  inputSize: 6, classes: 3,
  layers: [{ type: 'dense', units: 5 }, { type: 'tanh' }, { type: 'dense', units: 4 }, { type: 'gelu' }, { type: 'dense', units: 3 }],
};

function modelProblem(spec: ModelSpec, seed: number, batch: number) {
  const model = new Sequential(spec, { backend, maxBatch: 8, seed });
  const rng = new Rng(seed + 1000);
  const x = normal(rng, batch * spec.inputSize);
  const labels = new Int32Array(batch).map(() => rng.int(spec.classes));
  const ce = new SoftmaxCrossEntropy(backend, spec.classes, 8);
  // Non-zero biases, so their gradients flow through the checked path too.
  for (const p of model.params) if (p.kind === 'bias') p.value.set(normal(rng, p.value.length, 0.3));
  const dataLoss = () => ce.forwardBackward(model.forward(x, batch, true), labels, batch);
  const analytic = () => {
    model.zeroGrad();
    dataLoss();
    model.backward(ce.grad(batch), batch);
    return model.params.map((p) => p.grad.slice());
  };
  return { model, x, dataLoss, analytic };
}

test('Sequential 6-5-4-3 (tanh, gelu): every parameter gradient matches central differences', () => {
  const { model, dataLoss, analytic } = modelProblem(SPEC, 3, 5);
  const grads = analytic();
  assert.deepEqual(model.params.map((p) => p.name),
    ['dense1.weight', 'dense1.bias', 'dense2.weight', 'dense2.bias', 'dense3.weight', 'dense3.bias']);
  model.params.forEach((p, k) => {
    assert.ok(grads[k].some((v) => Math.abs(v) > 1e-3), `${p.name}: gradient is not trivially zero`);
    assertClose(grads[k], numericGradient(p.value, dataLoss), 2e-3, `${p.name}`);
  });
});

test('Sequential with ReLU: gradients match where no pre-activation crosses 0 within h', () => {
  const spec: ModelSpec = {
    inputSize: 6, classes: 3,
    layers: [{ type: 'dense', units: 7 }, { type: 'relu' }, { type: 'dense', units: 5 }, { type: 'relu' }, { type: 'dense', units: 3 }],
  };
  const { model, x, dataLoss, analytic } = modelProblem(spec, 11, 4);
  const grads = analytic();
  const h = 1e-3;
  // The on/off pattern of every ReLU unit, and its smallest |pre-activation|.
  const pattern = () => {
    let hh = x, bits = '', margin = Infinity;
    for (const layer of model.layers) {
      const pre = hh;
      hh = layer.forward(hh, 4, true);
      if (layer instanceof ReLU) {
        for (const v of pre) { bits += v > 0 ? '1' : '0'; margin = Math.min(margin, Math.abs(v)); }
      }
    }
    return { bits, margin };
  };
  const base = pattern();
  assert.ok(base.bits.includes('0') && base.bits.includes('1'), 'some units are off, some on');
  assert.ok(base.margin > 10 * h, `a pre-activation is within ${base.margin} of the kink`);
  model.params.forEach((p, k) => {
    const numeric = new Float64Array(p.value.length);
    for (let i = 0; i < p.value.length; i++) {
      const w = p.value[i];
      for (const s of [h, -h]) {
        p.value[i] = w + s;
        assert.equal(pattern().bits, base.bits, `${p.name}[${i}] ± h flips a ReLU`);
      }
      p.value[i] = w;
      numeric[i] = centralDifference(p.value, i, dataLoss, h);
    }
    assertClose(grads[k], numeric, 1e-2, p.name);
  });
});

test('L2 penalty: value is λΣw², its directional derivative is Σ 2λw·dw', () => {
  const { model } = modelProblem(SPEC, 4, 2);
  const lambda = l2Coefficient(0.03);
  const weights = model.params.filter(decayMask('weights'));
  let sumSq = 0;
  for (const p of weights) for (const v of p.value) sumSq += v * v;
  assert.ok(Math.abs(l2Penalty(weights, lambda, backend) - 0.03 * sumSq) <= 1e-12 * 0.03 * sumSq);
  assert.equal(l2Penalty(weights, l2Coefficient(0), backend), 0);
  const rng = new Rng(5);
  const dirs = weights.map((p) => normal(rng, p.value.length));
  const eps = 1e-3;
  const shift = (sign: number) => weights.forEach((p, k) => p.value.forEach((v, i) => { p.value[i] = v + sign * eps * dirs[k][i]; }));
  const w0 = weights.map((p) => p.value.slice());
  shift(+1); const plus = weights.map((p) => p.value.slice()); const pPlus = l2Penalty(weights, lambda, backend);
  weights.forEach((p, k) => p.value.set(w0[k]));
  shift(-1); const minus = weights.map((p) => p.value.slice()); const pMinus = l2Penalty(weights, lambda, backend);
  weights.forEach((p, k) => p.value.set(w0[k]));
  // Σ 2λ·w·dw with dw the stored (float32) difference of the two perturbed points.
  let predicted = 0;
  w0.forEach((w, k) => w.forEach((v, i) => { predicted += 2 * 0.03 * v * (plus[k][i] - minus[k][i]); }));
  assert.ok(Math.abs((pPlus - pMinus) - predicted) <= 1e-6 * Math.abs(predicted), `ΔP ${pPlus - pMinus}, Σ2λw·dw ${predicted}`);
  // And coordinate-wise: ∂P/∂w = 2λw.
  for (const p of weights) {
    const loss = () => l2Penalty(weights, lambda, backend);
    assertClose(numericGradient(p.value, loss), Array.from(p.value, (v) => 2 * 0.03 * v), 1e-5, `∂P/∂${p.name}`);
  }
});

test('addL2Gradient adds exactly 2λ_E·w (and nothing when λ_E = 0)', () => {
  const rng = new Rng(6);
  const { model } = modelProblem(SPEC, 5, 2);
  const params = model.params;
  const g = params.map((p) => normal(rng, p.value.length));
  const updates = g.map((u) => u.slice());
  addL2Gradient(l2Coefficient(0.25)).update(updates, {}, params);
  params.forEach((p, k) => p.value.forEach((w, i) => {
    assert.equal(updates[k][i], Math.fround(g[k][i] + 0.5 * w), `${p.name}[${i}]`);
  }));
  const untouched = g.map((u) => u.slice());
  addL2Gradient(l2Coefficient(0)).update(untouched, {}, params);
  assert.deepEqual(untouched, g);
});

test('objective E = mean CE + λ_E·Σ_weights w²: masked(addL2Gradient) gives its gradient', () => {
  const { model, dataLoss, analytic } = modelProblem(SPEC, 6, 5);
  const lambda = l2Coefficient(0.05);
  const mask = decayMask('weights');
  const decayed = model.params.filter(mask);
  const grads = analytic();
  const dataGrads = grads.map((g) => g.slice());
  const transform = masked(addL2Gradient(lambda), mask);
  transform.update(grads, transform.init(model.params), model.params);
  const objective = () => dataLoss() + l2Penalty(decayed, lambda, backend);
  model.params.forEach((p, k) => {
    assertClose(grads[k], numericGradient(p.value, objective), 2e-3, `dE/d${p.name}`);
    if (p.kind === 'bias') assert.deepEqual(grads[k], dataGrads[k], `${p.name} is not decayed`);
    else assert.ok(grads[k].some((v, i) => v !== dataGrads[k][i]), `${p.name} is decayed`);
  });
});
