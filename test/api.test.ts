/** The README's library example, run as written (one epoch instead of five). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Trainer, mlpSpec, jsBackend, regularizationTerm, splitValidation } from '../src/index.js';
import { loadIdxDirectory, resolveDataSource } from '../src/node.js';

test('README library example', async () => {
  const { train, test: testSet } = await loadIdxDirectory(resolveDataSource(undefined).dir); // embedded sample
  const split = splitValidation(train, 0.1, 1);
  const trainer = new Trainer({
    model: mlpSpec(784, [64], 10),
    optimizer: { name: 'momentum', schedule: { type: 'constant', lr: 0.05 }, momentum: 0.9 },
    regularization: [regularizationTerm('sklearn-mlp:alpha=0.0256', { batch: 128 })], // λ_E = 1e-4
    batchSize: 128, epochs: 1, seed: 1,
  }, jsBackend, split.train, split.validation);
  const epochs: number[] = [];
  await trainer.fit({ onEpoch: (m) => { epochs.push(m.epoch); } });
  assert.deepEqual(epochs, [1]);
  assert.ok(Math.abs(trainer.regularizationSummary()[0].lambdaE! - 1e-4) < 1e-18);
  assert.ok(trainer.evaluate(testSet).accuracy > 0.6);
});
