/**
 * On the real Fashion-MNIST (Debian's dataset-fashion-mnist, installed by .ci/run): one epoch
 * of a 784-256-256-10 MLP reaches at least 80% test accuracy. This is the acceptance
 * bar, run with the library API so it costs one epoch (~45 s on the reference backend).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { jsBackend } from '../../src/kernels/js/index.js';
import { mlpSpec } from '../../src/nn/spec.js';
import { DEBIAN_FASHION_MNIST, loadIdxDirectory } from '../../src/node/datasets.js';
import { regularizationTerm } from '../../src/regularization/plan.js';

import { Trainer } from '../../src/train/trainer.js';
import { requires } from '../helpers/requires.js';

test('full Fashion-MNIST: one epoch of 256,256 reaches ≥ 80% test accuracy', requires('dataset-fashion-mnist'), async () => {
  assert.ok(existsSync(DEBIAN_FASHION_MNIST), `${DEBIAN_FASHION_MNIST} is missing: apt-get install dataset-fashion-mnist`);
  const { train, test: testSet } = await loadIdxDirectory(DEBIAN_FASHION_MNIST);
  assert.equal(train.count, 60000);
  assert.equal(testSet.count, 10000);
  const trainer = new Trainer({
    model: mlpSpec(784, [256, 256], 10),
    optimizer: { name: 'momentum', schedule: { type: 'constant', lr: 0.05 }, momentum: 0.9 },
    regularization: [regularizationTerm('seed:lambda=1e-4')],
    batchSize: 128, epochs: 1, seed: 1,
  }, jsBackend, train);
  const [epoch] = await trainer.fit();
  const result = trainer.evaluate(testSet);
  console.log(`one epoch: test accuracy ${(100 * result.accuracy).toFixed(2)}%, ${epoch.seconds.toFixed(1)} s`);
  assert.ok(result.accuracy >= 0.8, `test accuracy ${result.accuracy}`);
  assert.ok(Math.abs(epoch.total - (epoch.data_loss + epoch.penalty)) < 1e-12);
});
