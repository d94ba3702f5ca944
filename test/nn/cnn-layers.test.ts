/**
 * The CNN layers: hand-computed forwards, and central-difference gradient checks of every
 * layer in training and evaluation mode (see test/helpers/gradcheck.ts for the method and
 * test/nn/gradcheck.test.ts for why 1e-3..2e-3 norm-wise is a wide margin).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsBackend } from '../../src/kernels/js/index.js';
import { loadBackends } from '../../src/kernels/select-node.js';
import { ReLU } from '../../src/nn/activations.js';
import { AvgPool2d } from '../../src/nn/avgpool2d.js';
import { BatchNorm } from '../../src/nn/batchnorm.js';
import { Conv2d } from '../../src/nn/conv2d.js';
import { Flatten } from '../../src/nn/flatten.js';
import type { Layer, LayerContext } from '../../src/nn/layer.js';
import { LayerNorm } from '../../src/nn/layernorm.js';
import { MaxPool2d } from '../../src/nn/maxpool2d.js';
import { Sequential } from '../../src/nn/sequential.js';
import type { ModelSpec } from '../../src/nn/spec.js';
import { SoftmaxCrossEntropy } from '../../src/loss/softmax-cross-entropy.js';
import { Rng } from '../../src/tensor/rng.js';
import { assertClose } from '../helpers/close.js';
import { checkLayer, normal, numericGradient } from '../helpers/gradcheck.js';

const ctx = (maxBatch: number): LayerContext => ({ backend: jsBackend, maxBatch });

/** Distinct values ≥ 0.05 apart in random order: no max-pool tie or switch within h. */
function spread(rng: Rng, n: number): Float32Array {
  const order = new Int32Array(n).map((_, i) => i);
  rng.shuffle(order);
  return new Float32Array(n).map((_, i) => 0.05 * (order[i] - n / 2));
}

test('Conv2d: a hand-computed 1→2 channel convolution with padding 1 and stride 2', () => {
  const conv = new Conv2d('conv1', [1, 3, 3], 2, 3, 2, 1, ctx(1));
  // filter 0: centre tap 1 (identity); filter 1: all ones (box sum); biases 0.5, −1
  conv.weight.value.set([0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  conv.bias.value.set([0.5, -1]);
  const x = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // Output 2×2 at input positions (0,0), (0,2), (2,0), (2,2).
  // filter 0: x at those + 0.5 = [1.5, 3.5, 7.5, 9.5]
  // filter 1: 3×3 sums with zero padding around (0,0): 1+2+4+5 = 12; (0,2): 2+3+5+6 = 16;
  //           (2,0): 4+5+7+8 = 24; (2,2): 5+6+8+9 = 28; minus 1
  assert.deepEqual([...conv.forward(x, 1)], [1.5, 3.5, 7.5, 9.5, 11, 15, 23, 27]);
});

test('Conv2d: input, kernel and bias gradients match central differences (padding, stride, 1×1)', () => {
  const rng = new Rng(201);
  for (const [c, h, w, f, k, s, p] of [[2, 5, 4, 3, 3, 1, 1], [3, 6, 6, 2, 3, 2, 0], [2, 4, 3, 3, 1, 1, 0], [1, 7, 7, 2, 5, 2, 2]]) {
    const conv = new Conv2d('conv1', [c, h, w], f, k, s, p, ctx(4));
    conv.weight.value.set(normal(rng, conv.weight.value.length, 0.5));
    conv.bias.value.set(normal(rng, f, 0.5));
    checkLayer(conv, normal(rng, 3 * c * h * w), 3, rng, 1e-3, `Conv2d ${c}×${h}×${w} → ${f}, k${k} s${s} p${p}`);
  }
});

test('MaxPool2d: hand-computed forward, ties go to the first, overlapping windows accumulate', () => {
  const pool = new MaxPool2d('maxpool1', [1, 2, 4], 2, 2, ctx(1));
  // windows [[1, 5], [3, 5]] → 5 (first at index 1), [[2, 0], [7, 7]] → 7 (first at index 6)
  const x = new Float32Array([1, 5, 2, 0, 3, 5, 7, 7]);
  assert.deepEqual([...pool.forward(x, 1)], [5, 7]);
  assert.deepEqual([...pool.backward(new Float32Array([10, 20]), 1, true)], [0, 10, 0, 0, 0, 0, 20, 0]);
  const overlap = new MaxPool2d('maxpool1', [1, 1, 5], 1, 1, ctx(1));
  assert.deepEqual([...overlap.forward(new Float32Array([1, 2, 3, 4, 5]), 1)], [1, 2, 3, 4, 5]);
  const rng = new Rng(202);
  for (const [c, h, w, k, s] of [[2, 4, 4, 2, 2], [3, 7, 5, 3, 2], [1, 5, 5, 3, 1]]) {
    const layer = new MaxPool2d('maxpool1', [c, h, w], k, s, ctx(3));
    checkLayer(layer, spread(rng, 3 * c * h * w), 3, rng, 1e-3, `MaxPool2d ${c}×${h}×${w} k${k} s${s}`);
  }
});

test('AvgPool2d and global average pooling: hand-computed forward, gradients match central differences', () => {
  const pool = new AvgPool2d('avgpool1', [1, 2, 4], 2, 2, ctx(1));
  assert.deepEqual([...pool.forward(new Float32Array([1, 5, 2, 0, 3, 5, 7, 7]), 1)], [3.5, 4]);
  const gap = new AvgPool2d('gap1', [2, 2, 2], 'global', 1, ctx(1));
  assert.equal(gap.outputSize, 2);
  assert.deepEqual([...gap.forward(new Float32Array([1, 2, 3, 4, -1, -2, -3, -6]), 1)], [2.5, -3]);
  const rng = new Rng(203);
  checkLayer(new AvgPool2d('avgpool1', [3, 6, 5], 2, 2, ctx(3)), normal(rng, 3 * 90), 3, rng, 1e-3, 'AvgPool2d k2 s2');
  checkLayer(new AvgPool2d('avgpool1', [2, 5, 5], 3, 1, ctx(3)), normal(rng, 3 * 50), 3, rng, 1e-3, 'AvgPool2d k3 s1 (overlapping)');
  checkLayer(new AvgPool2d('gap1', [4, 3, 5], 'global', 1, ctx(3)), normal(rng, 3 * 60), 3, rng, 1e-3, 'global average pool');
});

test('Flatten is the identity on the NCHW buffer', () => {
  const flat = new Flatten('flatten1', 12);
  const x = new Float32Array(24).map((_, i) => i);
  assert.equal(flat.forward(x), x);
  assert.equal(flat.backward(x, 2, true), x);
  assert.equal(flat.backward(x, 2, false).length, 0);
});

test('BatchNorm: training normalizes per channel and moves the running statistics as PyTorch', () => {
  const bn = new BatchNorm('bn1', [2, 1, 2], 0.1, 1e-5, ctx(2));
  bn.reset();
  // channel 0 sees [1, 3, 5, 7] (batch 2 × 2 pixels), channel 1 sees [0, 0, 2, 2]
  const x = new Float32Array([1, 3, 0, 0, 5, 7, 2, 2]);
  const y = bn.forward(x, 2, true);
  // channel 0: mean 4, biased var 5 → (x − 4)/√(5 + 1e-5); channel 1: mean 1, var 1
  const s0 = Math.sqrt(5 + 1e-5), s1 = Math.sqrt(1 + 1e-5);
  assertClose(y, [-3 / s0, -1 / s0, -1 / s1, -1 / s1, 1 / s0, 3 / s0, 1 / s1, 1 / s1], 1e-6, 'y');
  // running mean 0.9·0 + 0.1·mean; running var 0.9·1 + 0.1·unbiased var (5·4/3, 1·4/3)
  assertClose(bn.runningMean.value, [0.4, 0.1], 1e-6, 'running mean');
  assertClose(bn.runningVar.value, [0.9 + 0.1 * 20 / 3, 0.9 + 0.1 * 4 / 3], 1e-6, 'running var');
  // evaluation uses the running statistics and leaves them alone
  const before = bn.runningMean.value.slice();
  const yEval = bn.forward(new Float32Array([0.4, 0.4, 0.1, 0.1, 0.4, 0.4, 0.1, 0.1]), 2, false);
  assertClose(yEval, [0, 0, 0, 0, 0, 0, 0, 0], 1e-6, 'x at the running mean normalizes to β = 0');
  assert.deepEqual(bn.runningMean.value, before);
  assert.throws(() => new BatchNorm('bn1', [3], 0.1, 1e-5, ctx(1)).forward(new Float32Array(3), 1, true), /more than one value per channel/);
});

test('BatchNorm 2d and 1d: gradients match central differences in training and evaluation mode', () => {
  const rng = new Rng(204);
  for (const input of [[3, 4, 5], [6]]) {
    for (const training of [true, false]) {
      const bn = new BatchNorm('bn1', input, 0.1, 1e-5, ctx(4));
      bn.gain.value.set(normal(rng, input[0], 0.5).map((v) => v + 1));
      bn.shift.value.set(normal(rng, input[0], 0.5));
      bn.runningMean.value.set(normal(rng, input[0], 0.3));
      bn.runningVar.value.set(normal(rng, input[0], 0.3).map((v) => 0.5 + v * v));
      const size = input.reduce((a, b) => a * b, 1);
      checkLayer(bn, normal(rng, 4 * size, 2).map((v) => v + 1), 4, rng, 2e-3, `BatchNorm ${input.join('×')} ${training ? 'train' : 'eval'}`, training);
    }
  }
});

test('BatchNorm with the fused ReLU: bit-identical to BatchNorm then ReLU on every backend; gradients match central differences', async () => {
  const backends = (await loadBackends()).flatMap((r) => ('backend' in r ? [r.backend] : []));
  assert.ok(backends.length >= 1);
  const rng = new Rng(207);
  for (const backend of backends) {
    for (const input of [[3, 4, 5], [6]]) {
      for (const training of [true, false]) {
        const c = { backend, maxBatch: 4 };
        const fused = new BatchNorm('bn1', input, 0.1, 1e-5, c, true);
        const plain = new BatchNorm('bn1', input, 0.1, 1e-5, c);
        const relu = new ReLU('relu1', plain.outputSize, c);
        const gain = normal(rng, input[0], 0.5).map((v) => v + 1), shift = normal(rng, input[0], 0.5);
        const mean = normal(rng, input[0], 0.3), variance = normal(rng, input[0], 0.3).map((v) => 0.5 + v * v);
        for (const bn of [fused, plain]) {
          bn.gain.value.set(gain);
          bn.shift.value.set(shift);
          bn.runningMean.value.set(mean);
          bn.runningVar.value.set(variance);
        }
        const x = normal(rng, 4 * fused.inputSize, 2).map((v) => v + 1), dy = normal(rng, 4 * fused.inputSize);
        const what = `${backend.name} ${input.join('×')} ${training ? 'train' : 'eval'}`;
        const y = fused.forward(x, 4, training).slice();
        assert.deepEqual(y, relu.forward(plain.forward(x, 4, training), 4), `${what}: forward`);
        assert.ok(y.some((v) => v === 0) && y.some((v) => v > 0), `${what}: some units are off, some on`);
        const dx = fused.backward(dy, 4, true).slice();
        assert.deepEqual(dx, plain.backward(relu.backward(dy, 4, true), 4, true), `${what}: input gradient`);
        assert.deepEqual(fused.gain.grad, plain.gain.grad, `${what}: γ gradient`);
        assert.deepEqual(fused.shift.grad, plain.shift.grad, `${what}: β gradient`);
        assert.deepEqual(fused.runningVar.value, plain.runningVar.value, `${what}: running variance`);
      }
    }
  }
  // Central differences on the reference backend, with inputs whose pre-activations all stay
  // clear of ReLU's kink under a ±h step (h = 3e-3 moves them by < 0.015 here; else the
  // difference straddles the kink). Small layers, so such inputs are common.
  for (const input of [[2, 3, 3], [5]]) {
    for (const training of [true, false]) {
      const bn = new BatchNorm('bn1', input, 0.1, 1e-5, ctx(4), true);
      const plain = new BatchNorm('bn1', input, 0.1, 1e-5, ctx(4));
      let x = new Float32Array(0), margin = 0;
      for (let tries = 0; margin < 0.03; tries++) {
        assert.ok(tries < 50, 'found inputs clear of the kink');
        for (const layer of [bn, plain]) {
          layer.gain.value.set(normal(rng, input[0], 0.5).map((v) => v + 1));
          layer.shift.value.set(normal(rng, input[0], 0.5));
        }
        plain.gain.value.set(bn.gain.value);
        plain.shift.value.set(bn.shift.value);
        x = normal(rng, 4 * bn.inputSize, 2).map((v) => v + 1);
        margin = Math.min(...plain.forward(x, 4, training).map(Math.abs));
      }
      checkLayer(bn, x, 4, rng, 2e-3, `BatchNorm+ReLU ${input.join('×')} ${training ? 'train' : 'eval'}`, training);
    }
  }
});

test('Sequential fuses a ReLU into the BatchNorm before it (unless fuse: false): same names, identical logits and gradients', () => {
  const spec: ModelSpec = {
    inputSize: 2 * 6 * 6, inputShape: [2, 6, 6], classes: 3,
    layers: [
      { type: 'conv2d', filters: 3, kernel: 3, padding: 1 }, { type: 'batchnorm' }, { type: 'relu' }, { type: 'maxpool2d', size: 2 },
      { type: 'relu' }, { type: 'flatten' }, { type: 'dense', units: 5 }, { type: 'batchnorm' }, { type: 'relu' }, { type: 'dense', units: 3 },
    ],
  };
  const fused = new Sequential(spec, { backend: jsBackend, maxBatch: 4, seed: 3 });
  const plain = new Sequential(spec, { backend: jsBackend, maxBatch: 4, seed: 3, fuse: false });
  assert.deepEqual(fused.layers.map((l) => l.name), plain.layers.map((l) => l.name));
  assert.deepEqual(fused.layers.map((l) => l.constructor.name),
    ['Conv2d', 'BatchNorm', 'FusedActivation', 'MaxPool2d', 'ReLU', 'Flatten', 'Dense', 'BatchNorm', 'FusedActivation', 'Dense']);
  assert.ok(plain.layers.every((l) => l.constructor.name !== 'FusedActivation'));
  const rng = new Rng(208);
  const x = normal(rng, 4 * spec.inputSize), dlogits = normal(rng, 4 * 3);
  for (const training of [true, false]) {
    const logits = fused.forward(x, 4, training).slice();
    assert.deepEqual(logits, plain.forward(x, 4, training), `logits (${training ? 'train' : 'eval'})`);
    fused.zeroGrad();
    plain.zeroGrad();
    fused.backward(dlogits, 4);
    plain.backward(dlogits, 4);
    fused.params.forEach((p, k) => assert.deepEqual(p.grad, plain.params[k].grad, `${p.name} gradient`));
  }
});

test('LayerNorm: forward normalizes each example; gradients match central differences (flat and C×H×W)', () => {
  const ln = new LayerNorm('ln1', [4], 1e-5, ctx(2));
  ln.reset();
  const y = ln.forward(new Float32Array([1, 2, 3, 4, 0, 0, 0, 8]), 2);
  // example 0: mean 2.5, var 1.25; example 1: mean 2, var 12
  const a = Math.sqrt(1.25 + 1e-5), b = Math.sqrt(12 + 1e-5);
  assertClose(y, [-1.5 / a, -0.5 / a, 0.5 / a, 1.5 / a, -2 / b, -2 / b, -2 / b, 6 / b], 1e-6, 'y');
  const rng = new Rng(205);
  for (const input of [[7], [2, 3, 3]]) {
    const layer = new LayerNorm('ln1', input, 1e-5, ctx(3));
    layer.gain.value.set(normal(rng, layer.gain.value.length, 0.5).map((v) => v + 1));
    layer.shift.value.set(normal(rng, layer.shift.value.length, 0.5));
    const size = input.reduce((p, q) => p * q, 1);
    for (const training of [true, false]) {
      checkLayer(layer, normal(rng, 3 * size, 1.5), 3, rng, 2e-3, `LayerNorm ${input.join('×')} ${training ? 'train' : 'eval'}`, training);
    }
  }
});

test('a whole CNN (conv, BN, tanh, pools, LN, dense): every parameter gradient matches central differences', () => {
  const spec: ModelSpec = {
    inputSize: 2 * 6 * 6, inputShape: [2, 6, 6], classes: 3,
    layers: [
      { type: 'conv2d', filters: 3, kernel: 3, padding: 1 }, { type: 'batchnorm' }, { type: 'tanh' },
      { type: 'avgpool2d', size: 2 }, { type: 'conv2d', filters: 4, kernel: 2 }, { type: 'batchnorm' }, { type: 'gelu' },
      { type: 'flatten' }, { type: 'layernorm' }, { type: 'dense', units: 5 }, { type: 'tanh' },
      { type: 'dense', units: 3 },
    ],
  };
  const model = new Sequential(spec, { backend: jsBackend, maxBatch: 5, seed: 7 });
  assert.deepEqual(model.params.map((p) => `${p.name}:${p.kind}`), [
    'conv1.weight:conv-kernel', 'conv1.bias:bias', 'bn1.weight:norm-gain', 'bn1.bias:norm-shift',
    'conv2.weight:conv-kernel', 'conv2.bias:bias', 'bn2.weight:norm-gain', 'bn2.bias:norm-shift',
    'ln1.weight:norm-gain', 'ln1.bias:norm-shift', 'dense1.weight:dense-weight', 'dense1.bias:bias',
    'dense2.weight:dense-weight', 'dense2.bias:bias']);
  assert.deepEqual(model.buffers.map((b) => b.name), ['bn1.running_mean', 'bn1.running_var', 'bn2.running_mean', 'bn2.running_var']);
  const rng = new Rng(206);
  for (const p of model.params) if (p.kind !== 'conv-kernel' && p.kind !== 'dense-weight') p.value.set(normal(rng, p.value.length, 0.3).map((v) => p.kind === 'norm-gain' ? 1 + v : v));
  const batch = 4;
  const x = normal(rng, batch * spec.inputSize);
  const labels = new Int32Array(batch).map(() => rng.int(3));
  const ce = new SoftmaxCrossEntropy(jsBackend, 3, 5);
  const loss = () => ce.forwardBackward(model.forward(x, batch, true), labels, batch);
  model.zeroGrad();
  loss();
  model.backward(ce.grad(batch), batch);
  const grads = model.params.map((p) => p.grad.slice());
  model.params.forEach((p, k) => {
    const numeric = numericGradient(p.value, loss);
    if (p.name === 'conv1.bias' || p.name === 'conv2.bias') {
      // A bias right before training-mode BN shifts the batch mean with it: the loss ignores it.
      for (let i = 0; i < numeric.length; i++) assert.ok(Math.abs(grads[k][i]) < 1e-6 && Math.abs(numeric[i]) < 1e-4, `${p.name} gradient is 0 before BN`);
      return;
    }
    assert.ok(grads[k].some((v) => Math.abs(v) > 1e-4), `${p.name}: gradient is not trivially zero`);
    assertClose(grads[k], numeric, 2e-3, p.name);
  });
});

test('Layer contract: every CNN layer returns views of its own buffers sized for the batch', () => {
  const layers: Layer[] = [
    new Conv2d('conv1', [2, 5, 5], 3, 3, 1, 1, ctx(4)), new MaxPool2d('maxpool1', [2, 4, 4], 2, 2, ctx(4)),
    new AvgPool2d('avgpool1', [2, 4, 4], 2, 2, ctx(4)), new BatchNorm('bn1', [2, 3, 3], 0.1, 1e-5, ctx(4)),
    new LayerNorm('ln1', [5], 1e-5, ctx(4)),
  ];
  for (const layer of layers) {
    const y = layer.forward(new Float32Array(3 * layer.inputSize).fill(0.5), 3, true);
    assert.equal(y.length, 3 * layer.outputSize, layer.name);
    assert.equal(layer.backward(new Float32Array(3 * layer.outputSize), 3, true).length, 3 * layer.inputSize, layer.name);
    assert.throws(() => layer.forward(new Float32Array(5 * layer.inputSize), 5, true), /exceeds/, `${layer.name}: batch above maxBatch`);
  }
});
