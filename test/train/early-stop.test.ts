/**
 * Early stopping and the best epoch: decided from the metrics history alone; a run whose
 * validation labels are shuffled (so its validation CE climbs as it fits the training labels)
 * stops after `patience` epochs without improvement.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bestEpoch, shouldStopEarly } from '../../src/train/early-stop.js';
import type { EpochMetrics } from '../../src/train/trainer.js';
import { Trainer } from '../../src/train/trainer.js';
import { createDataset } from '../../src/data/dataset.js';
import { mlpSpec } from '../../src/nn/spec.js';
import { jsBackend } from '../../src/kernels/js/index.js';
import { regularizationTerm } from '../../src/regularization/plan.js';
import { Rng } from '../../src/tensor/rng.js';

const epoch = (e: number, val: number | null) => ({ epoch: e, val_loss: val }) as EpochMetrics;

test('best epoch and the stopping rule', () => {
  const h = [epoch(1, 0.9), epoch(2, 0.7), epoch(3, 0.75), epoch(4, 0.72)];
  assert.equal(bestEpoch(h)!.epoch, 2);
  assert.equal(shouldStopEarly(h, 2), true);
  assert.equal(shouldStopEarly(h, 3), false);
  assert.equal(shouldStopEarly(h.slice(0, 2), 1), false);
  assert.equal(bestEpoch([epoch(1, null)]), null);
  assert.equal(shouldStopEarly([epoch(1, null), epoch(2, null)], 1), false);
});

test('a run whose validation CE climbs stops after patience epochs; without validation early stopping is refused', async () => {
  const rng = new Rng(5);
  const n = 200, f = 20;
  const x = Float32Array.from({ length: n * f }, () => rng.normal());
  const y = Int32Array.from({ length: n }, (_, i) => (x[i * f] > 0 ? 1 : 0) + (x[i * f + 1] > 0 ? 2 : 0));
  const train = createDataset(x, y, [f], 4);
  const shuffled = createDataset(x, Int32Array.from(y, (_, i) => y[(i * 7 + 3) % n]), [f], 4);
  const make = (val?: ReturnType<typeof createDataset>) => new Trainer({
    model: mlpSpec(f, [32], 4), regularization: [regularizationTerm('0')], batchSize: 20, epochs: 30, seed: 1,
    optimizer: { name: 'momentum', schedule: { type: 'constant', lr: 0.1 }, momentum: 0.9 },
  }, jsBackend, train, val);
  const t = make(shuffled);
  await t.fit({ earlyStopPatience: 3 });
  const best = bestEpoch(t.history)!;
  assert.ok(t.epoch < 30, `stopped at epoch ${t.epoch}`);
  assert.equal(t.epoch, best.epoch + 3, 'three epochs past the best');
  assert.ok(t.stoppedEarly(3));
  await assert.rejects(make().fit({ earlyStopPatience: 3 }), /early stopping needs validation rows/);
});
