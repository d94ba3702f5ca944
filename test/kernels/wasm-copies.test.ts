/**
 * The memory contract: every layer allocates its buffers through the backend, so the wasm
 * backend computes on them in place. Counted, not assumed: the elements copied into and out of
 * the linear memory during one training step of the MLP and of a CNN with every spatial layer
 * (conv, BatchNorm, max and average pooling, LayerNorm) stay under a small bound. Before Conv2d
 * allocated through the backend, one CNN step at B = 128 copied 82 M floats.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadWasmBackend } from '../../src/kernels/wasm/index.js';
import { createDataset } from '../../src/data/dataset.js';
import { mlpSpec, parseArch, type ModelSpec } from '../../src/nn/spec.js';
import { regularizationTerm } from '../../src/regularization/plan.js';
import { Trainer } from '../../src/train/trainer.js';
import { Rng } from '../../src/tensor/rng.js';

/** Labels (an Int32Array from the batch gatherer) and the loss's per-row scalars are all that may cross. */
const BOUND = 4096;

async function copiedPerStep(spec: ModelSpec, batch: number): Promise<{ in: number; out: number; params: number }> {
  const backend = await loadWasmBackend({ threads: 1 });
  assert.ok(backend.alloc, 'a shared memory: buffers can live in it');
  const rng = new Rng(3);
  const n = 2 * batch;
  const images = Float32Array.from({ length: n * spec.inputSize }, () => rng.uniform());
  const labels = Int32Array.from({ length: n }, (_, i) => i % spec.classes);
  const data = createDataset(images, labels, spec.inputShape ?? [spec.inputSize], spec.classes);
  const trainer = new Trainer({
    model: spec, regularization: [regularizationTerm('1e-4')], batchSize: batch, epochs: 1, seed: 1,
    optimizer: { name: 'momentum', schedule: { type: 'constant', lr: 0.01 }, momentum: 0.9 },
  }, backend, data);
  // The trainer's own batch buffers (xBatch comes from the backend; the labels are an Int32Array).
  const step = () => {
    const xBatch = (trainer as unknown as { xBatch: Float32Array }).xBatch;
    const yBatch = (trainer as unknown as { yBatch: Int32Array }).yBatch;
    xBatch.set(images.subarray(0, batch * spec.inputSize));
    yBatch.set(labels.subarray(0, batch));
    trainer.trainStep(xBatch, yBatch, batch);
  };
  step(); // first step: lazily sized scratch
  const before = backend.copied;
  step();
  const after = backend.copied;
  backend.dispose();
  return { in: after.in - before.in, out: after.out - before.out, params: trainer.model.paramCount };
}

test('one MLP step on wasm copies almost nothing across the boundary', async () => {
  const c = await copiedPerStep(mlpSpec(784, [256, 256], 10), 128);
  assert.ok(c.in + c.out <= BOUND, `copied ${c.in} in and ${c.out} out (${c.params} parameters)`);
});

test('one CNN step on wasm (conv, BatchNorm, pooling, LayerNorm) copies almost nothing across the boundary', async () => {
  const spec = parseArch('conv:8x3p1,bn,relu,pool:2,conv:16x3p1,bn,relu,avgpool:2,flatten,dense:32,ln,relu,dense:10', [1, 28, 28], 10);
  const c = await copiedPerStep(spec, 64);
  assert.ok(c.in + c.out <= BOUND, `copied ${c.in} in and ${c.out} out (${c.params} parameters)`);
});
