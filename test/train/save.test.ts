/**
 * Trainer.save() and loadModelBytes(), the model file in memory (Node and browsers alike), and
 * Node's loadModel(path) on the same bytes: the reloaded model holds the trained tensors bit for
 * bit (BatchNorm's running statistics too) and predicts the same, the metadata carries the
 * training config and epoch, and bad bytes are a DataError.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createDataset } from '../../src/data/dataset.js';
import { DataError } from '../../src/errors.js';
import { encodeSafetensors } from '../../src/format/safetensors.js';
import { jsBackend } from '../../src/kernels/js/index.js';
import { parseArch } from '../../src/nn/spec.js';
import { loadModel } from '../../src/node/run-dir.js';
import { regularizationTerm } from '../../src/regularization/plan.js';
import { Rng } from '../../src/tensor/rng.js';
import { evaluate, predict } from '../../src/train/evaluate.js';
import { loadModelBytes } from '../../src/train/load-model.js';
import { Trainer } from '../../src/train/trainer.js';

function data(count: number, seed: number) {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: count * 64 }, () => rng.uniform());
  const y = Int32Array.from({ length: count }, (_, i) => i % 3);
  return createDataset(x, y, [1, 8, 8], 3);
}

test('Trainer.save() bytes load back with loadModelBytes and loadModel(path): same tensors, same predictions, the config in the metadata', async () => {
  const train = data(48, 1), held = data(20, 2);
  const config = {
    model: parseArch('conv:4x3p1,bn,relu,pool:2,flatten,dense:3', [1, 8, 8], 3),
    optimizer: { name: 'momentum' as const, schedule: { type: 'constant' as const, lr: 0.05 }, momentum: 0.9 },
    regularization: [regularizationTerm('1e-3')], batchSize: 16, epochs: 2, seed: 3,
  };
  const trainer = new Trainer(config, jsBackend, train);
  await trainer.fit();
  const bytes = trainer.save({ source: 'unit test' });

  const { model, metadata } = loadModelBytes(bytes, jsBackend);
  assert.deepEqual(model.tensors.map((t) => t.name), trainer.model.tensors.map((t) => t.name));
  assert.ok(model.tensors.some((t) => t.name.endsWith('running_var')), 'BatchNorm buffers are saved');
  model.tensors.forEach((t, i) => assert.deepEqual(t.value, trainer.model.tensors[i].value, `${t.name} differs after the round trip`));
  assert.equal(model.options.maxBatch, 16, 'evaluation runs in chunks of the training batch by default');
  assert.deepEqual(JSON.parse(metadata.training), JSON.parse(JSON.stringify(config)));
  assert.equal(metadata.epoch, '2');
  assert.equal(metadata.source, 'unit test');
  assert.equal(JSON.parse(metadata.regularization)[0].lambdaE, 1e-3);
  assert.deepEqual(evaluate(model, held), trainer.evaluate(held));
  assert.deepEqual(predict(model, held.images, held.count), predict(trainer.model, held.images, held.count));

  const dir = await mkdtemp(join(tmpdir(), 'ridgeline-save-'));
  try {
    const path = join(dir, 'model.safetensors');
    await writeFile(path, bytes);
    const fromFile = await loadModel(path, jsBackend, { maxBatch: 5 });
    assert.equal(fromFile.model.options.maxBatch, 5);
    fromFile.model.tensors.forEach((t, i) => assert.deepEqual(t.value, trainer.model.tensors[i].value));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('loadModelBytes refuses what is not a model: truncated bytes, a safetensors file without a network (naming options.arch)', () => {
  const trainer = new Trainer({
    model: parseArch('dense:3', [4], 3), optimizer: { name: 'sgd', schedule: { type: 'constant', lr: 0.1 } },
    regularization: [], batchSize: 2, epochs: 1, seed: 1,
  }, jsBackend, createDataset(new Float32Array(8), Int32Array.from([0, 1]), [4], 3));
  const bytes = trainer.save();
  assert.throws(() => loadModelBytes(bytes.subarray(0, bytes.length - 7), jsBackend, { what: 'upload.safetensors' }),
    (e: unknown) => e instanceof DataError && /in upload\.safetensors: data_offsets/.test(e.message));
  const weight = Float32Array.from({ length: 12 }, (_, i) => i / 10);
  const plain = encodeSafetensors([
    { name: '0.weight', dtype: 'F32', shape: [3, 4], data: weight }, { name: '0.bias', dtype: 'F32', shape: [3], data: new Float32Array(3) },
  ], {});
  assert.throws(() => loadModelBytes(plain, jsBackend), (e: unknown) => e instanceof DataError && /give its network with options\.arch$/.test(e.message));
  const { model } = loadModelBytes(plain, jsBackend, { arch: { text: 'dense:3', inputShape: [4], classes: 3 } });
  assert.deepEqual(model.tensors.map((t) => t.name), ['dense1.weight', 'dense1.bias']);
  assert.deepEqual(model.tensors[0].value, weight);
});
