/**
 * The model spec: the `--arch` string and its JSON, shape inference, parameter kinds, and
 * errors that point at the bad token or layer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';
import { jsBackend } from '../../src/kernels/js/index.js';
import { Sequential } from '../../src/nn/sequential.js';
import { archToken, describeSpec, layerShapes, mlpSpec, paramShapes, parseArch, validateSpec } from '../../src/nn/spec.js';

const CNN = 'conv:32x3p1,bn,relu,pool:2,conv:64x3p1,bn,relu,pool:2,flatten,dense:128,relu,dropout:0.25,dense:10';

test('parseArch: the issue example, with every shape through the network', () => {
  const spec = parseArch(CNN, [1, 28, 28], 10);
  assert.deepEqual(spec.inputShape, [1, 28, 28]);
  assert.equal(spec.inputSize, 784);
  assert.deepEqual(spec.layers.slice(0, 4), [
    { type: 'conv2d', filters: 32, kernel: 3, padding: 1 }, { type: 'batchnorm' }, { type: 'relu' }, { type: 'maxpool2d', size: 2 }]);
  assert.deepEqual(layerShapes(spec).map((s) => s.join('×')), [
    '1×28×28', '32×28×28', '32×28×28', '32×28×28', '32×14×14', '64×14×14', '64×14×14', '64×14×14', '64×7×7',
    '3136', '128', '128', '128', '10']);
  assert.equal(spec.layers.map(archToken).join(','), CNN, 'archToken inverts parseToken');
  assert.equal(describeSpec(spec), `1×28×28 → ${CNN}`);
});

test('parseArch: every token form', () => {
  const spec = parseArch('conv:8x5s2p2,avgpool:2,maxpool:3s1,bn:0.01,ln,gelu,tanh,gap,dense:10', [3, 32, 32], 10);
  assert.deepEqual(spec.layers, [
    { type: 'conv2d', filters: 8, kernel: 5, stride: 2, padding: 2 }, { type: 'avgpool2d', size: 2 },
    { type: 'maxpool2d', size: 3, stride: 1 }, { type: 'batchnorm', momentum: 0.01 }, { type: 'layernorm' },
    { type: 'gelu' }, { type: 'tanh' }, { type: 'globalavgpool' }, { type: 'dense', units: 10 }]);
  // 32 → conv k5 s2 p2: (32 + 4 − 5)/2 + 1 = 16 → avgpool 2: 8 → maxpool 3 s1: 6 → gap: 8
  assert.deepEqual(layerShapes(spec).map((s) => s.join('×')), ['3×32×32', '8×16×16', '8×8×8', '8×6×6', '8×6×6', '8×6×6', '8×6×6', '8×6×6', '8', '10']);
  assert.deepEqual(parseArch('dense:16,relu,dense:3', [5], 3), mlpSpec(5, [16], 3), 'a flat spec equals the MLP shorthand');
});

test('parseArch errors name the token, show where it is, and say why', () => {
  const cases: [string, RegExp[]][] = [
    ['conv:4x3,foo,dense:10', [/token 2 'foo'/, /unknown layer 'foo'/, /\n  conv:4x3,foo,dense:10\n {11}\^{3}$/]],
    ['conv:4x3x,dense:10', [/token 1 'conv:4x3x'/, /conv:FILTERSxKERNEL/]],
    ['conv:0x3,flatten,dense:10', [/conv filters must be a positive integer, got '0'/]],
    ['pool,dense:10', [/token 1 'pool'/, /pool:SIZE/]],
    ['dropout:1,dense:10', [/dropout rate must be in \[0, 1\), got '1'/]],
    ['bn:2,dense:10', [/momentum must be in \(0, 1\]/]],
    ['relu:2,dense:10', [/'relu' takes no argument/]],
    ['dense:10:3', [/too many colons/]],
    ['conv:4x3,flatten,dense:7', [/last dense layer has 7 units but the data has 10 classes/]],
    ['conv:4x3,dense:10,relu', [/last layer must be dense/]],
    ['conv:4x3p3,flatten,dense:10', [/padding must be an integer in \[0, kernel\), got 3/]],
    ['pool:2,pool:2,pool:2,pool:2,pool:2,flatten,dense:10', [/layer 5 \(pool:2\)/, /max pool window 2×2 is larger than its input 1×1/, /pool:2\s+1×1×1\n/]],
    ['gap,conv:2x1,dense:10', [/layer 2 \(conv:2x1\): conv needs a C×H×W input, got 1\b/]],
  ];
  for (const [text, patterns] of cases) {
    assert.throws(() => parseArch(text, [1, 28, 28], 10), (e: unknown) => {
      assert.ok(e instanceof ConfigError, `${text}: a ConfigError`);
      for (const p of patterns) assert.match(e.message, p, text);
      return true;
    });
  }
});

test("validateSpec checks JSON specs too (a file's architecture), naming the layer", () => {
  assert.throws(() => validateSpec({ inputSize: 784, inputShape: [1, 28, 28], classes: 10, layers: [{ type: 'conv2d', filters: 4, kernel: 40 }, { type: 'dense', units: 10 }] }),
    /layer 1 \(conv:4x40\): conv window 40×40 is larger than its input 28×28/);
  assert.throws(() => validateSpec({ inputSize: 784, inputShape: [1, 28, 27], classes: 10, layers: [{ type: 'dense', units: 10 }] }), /1×28×27 has 756 values, not the input size 784/);
  assert.throws(() => validateSpec({ inputSize: 784, classes: 10, layers: [{ type: 'transformer' } as never, { type: 'dense', units: 10 }] }), /unknown layer type 'transformer'/);
});

test('paramShapes agrees with the built model: names, shapes and kinds', () => {
  const spec = parseArch('conv:4x3,bn,relu,conv:6x3s2p1,ln,maxpool:2,flatten,bn,dense:12,relu,dense:10', [2, 12, 12], 10);
  const model = new Sequential(spec, { backend: jsBackend, maxBatch: 2, seed: 1 });
  assert.deepEqual(paramShapes(spec), model.params.map((p) => ({ name: p.name, shape: [...p.shape], kind: p.kind })));
  assert.deepEqual(paramShapes(spec).map((p) => `${p.name} ${p.kind} ${p.shape.join('×')}`), [
    'conv1.weight conv-kernel 4×2×3×3', 'conv1.bias bias 4', 'bn1.weight norm-gain 4', 'bn1.bias norm-shift 4',
    'conv2.weight conv-kernel 6×4×3×3', 'conv2.bias bias 6', 'ln1.weight norm-gain 6×5×5', 'ln1.bias norm-shift 6×5×5',
    'bn2.weight norm-gain 24', 'bn2.bias norm-shift 24', 'dense1.weight dense-weight 12×24', 'dense1.bias bias 12',
    'dense2.weight dense-weight 10×12', 'dense2.bias bias 10']);
  assert.deepEqual(model.buffers.map((b) => `${b.name} ${b.shape.join('×')}`), [
    'bn1.running_mean 4', 'bn1.running_var 4', 'bn2.running_mean 24', 'bn2.running_var 24']);
});

test('initialization: He for conv kernels feeding ReLU through BN (fan-in C·k²), norm gains 1, running var 1', () => {
  const spec = parseArch('conv:64x5,bn,relu,flatten,dense:10', [4, 8, 8], 10);
  const model = new Sequential(spec, { backend: jsBackend, maxBatch: 1, seed: 3 });
  const w = model.param('conv1.weight').value;
  const variance = w.reduce((s, v) => s + v * v, 0) / w.length;
  // He: Var = 2 / fan-in = 2 / (4·25) = 0.02; 6400 draws give a relative standard error of ~1.8%.
  assert.ok(Math.abs(variance / 0.02 - 1) < 0.08, `conv kernel variance ${variance}`);
  assert.ok(model.param('bn1.weight').value.every((v) => v === 1));
  assert.ok(model.param('bn1.bias').value.every((v) => v === 0));
  assert.ok(model.buffers[1].value.every((v) => v === 1));
  // The MLP's initial weights do not change with the new layer types (one stream, layer order).
  const mlp = new Sequential(mlpSpec(6, [5], 3), { backend: jsBackend, maxBatch: 1, seed: 9 });
  const same = new Sequential(parseArch('dense:5,relu,dense:3', [6], 3), { backend: jsBackend, maxBatch: 1, seed: 9 });
  mlp.params.forEach((p, i) => assert.deepEqual(p.value, same.params[i].value));
});
