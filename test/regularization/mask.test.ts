/** Decay masks: rank ≥ 2 by default, 'all', and name globs where `*` stays in one segment. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';
import { decayMask, selectParams } from '../../src/regularization/mask.js';
import { createParam, type Param } from '../../src/tensor/param.js';
import { Sequential } from '../../src/nn/sequential.js';
import { jsBackend } from '../../src/kernels/js/index.js';

const PARAMS: Param[] = [
  createParam('dense1.weight', [5, 6], 'dense-weight'),
  createParam('dense1.bias', [5], 'bias'),
  createParam('dense2.weight', [3, 5], 'dense-weight'),
  createParam('dense2.bias', [3], 'bias'),
  createParam('dense10.weight', [3, 3], 'dense-weight'),
];

const selected = (selection?: string) => PARAMS.filter(decayMask(selection)).map((p) => p.name);

test("default mask selects dense weights and conv kernels only (same as 'weights')", () => {
  assert.deepEqual(selected(), ['dense1.weight', 'dense2.weight', 'dense10.weight']);
  assert.deepEqual(selected('weights'), ['dense1.weight', 'dense2.weight', 'dense10.weight']);
  // By kind, not by rank or name: a LayerNorm gain over C×H×W has rank 3 and is not decayed;
  // a conv kernel is.
  assert.equal(decayMask()(createParam('ln1.weight', [4, 3, 3], 'norm-gain')), false);
  assert.equal(decayMask()(createParam('bn1.bias', [4], 'norm-shift')), false);
  assert.equal(decayMask()(createParam('x.bias', [2, 2], 'bias')), false);
  assert.equal(decayMask()(createParam('conv1.weight', [8, 1, 3, 3], 'conv-kernel')), true);
  assert.equal(decayMask()(createParam('v', [4], 'dense-weight')), true);
});

test("'all' selects every tensor", () => {
  assert.deepEqual(selected('all'), PARAMS.map((p) => p.name));
});

test('globs: dense1.*, *.weight, **, lists, and * not crossing dots', () => {
  assert.deepEqual(selected('dense1.*'), ['dense1.weight', 'dense1.bias']);
  assert.deepEqual(selected('*.weight'), ['dense1.weight', 'dense2.weight', 'dense10.weight']);
  assert.deepEqual(selected('**'), PARAMS.map((p) => p.name));
  assert.deepEqual(selected('**.bias'), ['dense1.bias', 'dense2.bias']);
  assert.deepEqual(selected('dense1.weight, dense2.bias'), ['dense1.weight', 'dense2.bias']);
  assert.deepEqual(selected('dense1.weight'), ['dense1.weight'], 'exact name, anchored (not dense10.weight)');
  assert.deepEqual(selected('dense1*.weight'), ['dense1.weight', 'dense10.weight']);
  assert.deepEqual(selected('*'), [], '* matches one segment only');
  assert.deepEqual(selected('dense*'), []);
  assert.deepEqual(selected('dense1weight'), [], 'the dot is literal, not a regex wildcard');
});

test('invalid globs and empty selections throw ConfigError', () => {
  for (const bad of ['dense1.weight[0]', 'dense1/weight', 'dense1 weight', 'dense?.weight', '(dense1)', 'a+b', '^dense1', 'dense1.weight$']) {
    assert.throws(() => decayMask(bad), ConfigError, bad);
  }
  for (const empty of ['', ' ', ',', ' , ']) assert.throws(() => decayMask(empty), ConfigError, JSON.stringify(empty));
});

test('selectParams: a selection that matches nothing is a ConfigError naming the parameters', () => {
  assert.deepEqual(selectParams(PARAMS, decayMask('dense2.*'), 'dense2.*').map((p) => p.name), ['dense2.weight', 'dense2.bias']);
  assert.throws(() => selectParams(PARAMS, decayMask('dens1.*'), 'dens1.*'),
    (e: Error) => e instanceof ConfigError && /dens1\.\*/.test(e.message) && /dense1\.weight/.test(e.message));
});

test('default mask on a built model: dense weights, not biases', () => {
  const model = new Sequential({ inputSize: 4, classes: 3, layers: [{ type: 'dense', units: 5 }, { type: 'relu' }, { type: 'dense', units: 3 }] },
    { backend: jsBackend, maxBatch: 1, seed: 0 });
  assert.deepEqual(model.params.filter(decayMask()).map((p) => p.name), ['dense1.weight', 'dense2.weight']);
});
