/** The README's library example, run as written (a smaller network, one epoch instead of five, a temporary directory). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Trainer, evaluate, mlpSpec, parseArch, jsBackend, loadModelBytes, regularizationTerm, selectBackend, splitValidation } from '../src/index.node.js';
import { atomicWriteFile, loadIdxDirectory, loadSample, resolveDataSource } from '../src/node.js';

test('README library example', async () => {
  const { train, test: testSet } = await loadSample();
  const split = splitValidation(train, 0.1, 1);
  const backend = await selectBackend('auto');
  assert.equal(backend.name, 'native', 'under Node, auto picks what the CLI picks');
  const trainer = new Trainer({
    model: mlpSpec(784, [64], 10),
    optimizer: { name: 'momentum', schedule: { type: 'constant', lr: 0.05 }, momentum: 0.9 },
    regularization: [regularizationTerm('sklearn-mlp:alpha=0.0256', { batch: 128 })], // λ_E = 1e-4
    batchSize: 128, epochs: 1, seed: 1,
  }, backend, split.train, split.validation);
  const epochs: number[] = [];
  await trainer.fit({ onEpoch: (m) => { epochs.push(m.epoch); } });
  assert.deepEqual(epochs, [1]);
  assert.ok(Math.abs(trainer.regularizationSummary()[0].lambdaE! - 1e-4) < 1e-18);
  const { accuracy } = trainer.evaluate(testSet);
  assert.ok(accuracy > 0.6);
  const dir = await mkdtemp(join(tmpdir(), 'ridgeline-api-'));
  try {
    await atomicWriteFile(join(dir, 'model.safetensors'), trainer.save());
    const { model } = loadModelBytes(await readFile(join(dir, 'model.safetensors')), backend);
    assert.equal(evaluate(model, testSet).accuracy, accuracy);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('README library example: a CNN spec is another model', async () => {
  const { train } = await loadIdxDirectory(resolveDataSource(undefined).dir);
  const spec = parseArch('conv:32x3p1,bn,relu,pool:2,flatten,dense:10', [1, 28, 28], 10);
  assert.deepEqual(spec.layers[0], { type: 'conv2d', filters: 32, kernel: 3, padding: 1 });
  const trainer = new Trainer({
    model: spec, optimizer: { name: 'momentum', schedule: { type: 'constant', lr: 0.05 }, momentum: 0.9 },
    regularization: [regularizationTerm('seed:lambda=1e-4', {})], batchSize: 64, epochs: 1, seed: 1,
  }, jsBackend, train);
  const { dataLoss } = trainer.trainStep(train.images.subarray(0, 64 * 784), train.labels.subarray(0, 64), 64);
  assert.ok(Number.isFinite(dataLoss) && dataLoss > 1 && dataLoss < 4, `first-step loss ${dataLoss}`);
});

test('library errors name the field: an unknown optimizer, predict and evaluate on inputs of the wrong size', async () => {
  const { Trainer, mlpSpec, jsBackend, regularizationTerm, predict, evaluate, createDataset, ConfigError } = await import('../src/index.js');
  const data = createDataset(new Float32Array(4 * 6), Int32Array.from([0, 1, 2, 0]), [6], 3);
  const make = (name: string) => new Trainer({
    model: mlpSpec(6, [4], 3), optimizer: { name: name as never, schedule: { type: 'constant', lr: 0.1 } },
    regularization: [regularizationTerm('1e-4')], batchSize: 2, epochs: 1, seed: 1,
  }, jsBackend, data);
  assert.throws(() => make('rmsprop'), (e: unknown) => e instanceof ConfigError && /optimizer\.name must be one of sgd, momentum, nesterov, adam, adamw, got "rmsprop"/.test(e.message));
  // An optimizer without a schedule (the learning rate lives there) is named, not a TypeError.
  assert.throws(() => new Trainer({ model: mlpSpec(6, [4], 3), optimizer: { name: 'sgd' } as never, regularization: [], batchSize: 2, epochs: 1, seed: 1 }, jsBackend, data),
    (e: unknown) => e instanceof ConfigError && /config\.optimizer\.schedule must be a schedule, e\.g\. \{ type: 'constant', lr: 0\.05 \}/.test(e.message));
  const t = make('sgd');
  assert.throws(() => predict(t.model, new Float32Array(7), 1), (e: unknown) => e instanceof ConfigError && /1 examples of 6 features need 6 values, images has 7/.test(e.message));
  assert.throws(() => evaluate(t.model, createDataset(new Float32Array(5), Int32Array.from([0]), [5], 3)), /the model expects 6 features per example, the data has 5/);
});
