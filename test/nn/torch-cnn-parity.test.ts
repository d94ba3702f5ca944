/**
 * Parity of the CNN layers with PyTorch 1.13 on every backend: a small conv + BatchNorm +
 * pooling network (fixture from tools/make_torch_cnn_fixture.py, Debian python3-torch) trained
 * for 5 steps of SGD momentum with `weight_decay` given verbatim in PyTorch's convention.
 * Compared: the first training-mode forward, every first-step gradient, the loss and every
 * parameter and running statistic after each step, and the evaluation-mode logits at the end.
 * Tolerance 1e-4 relative (norm-wise per tensor): float32 convolutions sum in other orders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Backend } from '../../src/kernels/backend.js';
import { loadBackends } from '../../src/kernels/select-node.js';
import { createDataset } from '../../src/data/dataset.js';
import { SoftmaxCrossEntropy } from '../../src/loss/softmax-cross-entropy.js';
import { parseArch } from '../../src/nn/spec.js';
import { parseCoefficient } from '../../src/regularization/conventions.js';
import { termFromGiven } from '../../src/regularization/plan.js';
import { Trainer, type TrainConfig } from '../../src/train/trainer.js';
import { difference } from '../helpers/close.js';

type Tensor = { shape: number[]; data: number[] };
interface Fixture {
  torch_version: string;
  arch: string;
  input_shape: number[];
  classes: number;
  optimizer: { lr: number; momentum: number; weight_decay: number };
  params_init: Record<string, Tensor>;
  batches: { x: number[]; y: number[] }[];
  logits_step0: Tensor;
  grads_step0: Record<string, Tensor>;
  steps: { loss: number; state: Record<string, Tensor> }[];
  eval_logits: Tensor;
}

const fx: Fixture = JSON.parse(readFileSync(new URL('../fixtures/torch-cnn/cnn_bn.json', import.meta.url), 'utf8'));
const TOLERANCE = 1e-4;

function trainerFor(backend: Backend): Trainer {
  const B = fx.batches[0].y.length;
  const config: TrainConfig = {
    model: parseArch(fx.arch, fx.input_shape, fx.classes),
    optimizer: { name: 'momentum', schedule: { type: 'constant', lr: fx.optimizer.lr }, momentum: fx.optimizer.momentum },
    regularization: [termFromGiven(parseCoefficient(`pytorch-sgd:weight_decay=${fx.optimizer.weight_decay}`, 'seed', 'test'), {}, 'framework')],
    batchSize: B, epochs: 1, seed: 0,
  };
  const x = new Float32Array(fx.batches.flatMap((b) => b.x)), y = new Int32Array(fx.batches.flatMap((b) => b.y));
  const trainer = new Trainer(config, backend, createDataset(x, y, fx.input_shape, fx.classes));
  for (const t of trainer.model.tensors) {
    const init = fx.params_init[t.name];
    assert.ok(init, `the fixture has ${t.name}`);
    assert.deepEqual(init.shape, [...t.shape], `${t.name} shape matches PyTorch's`);
    t.value.set(init.data);
  }
  assert.equal(trainer.model.tensors.length, Object.keys(fx.params_init).length, 'every PyTorch tensor has a ridgeline counterpart');
  return trainer;
}

/** Norm-wise relative difference; a tensor PyTorch has at ~0 (a conv bias before BN) is compared absolutely. */
function check(actual: ArrayLike<number>, expected: Tensor, what: string): number {
  const d = difference(actual, expected.data);
  const scale = Math.max(...expected.data.map(Math.abs));
  if (scale < 1e-6) {
    assert.ok(d.maxAbs < 1e-6, `${what}: ${d.maxAbs} away from PyTorch's ~0`);
    return 0;
  }
  assert.ok(d.maxRel <= TOLERANCE, `${what}: relative difference ${d.maxRel.toExponential(2)} (max abs ${d.maxAbs.toExponential(2)} at ${d.worst})`);
  return d.maxRel;
}

const backends = await loadBackends();
for (const { name, backend, error } of backends as { name: string; backend?: Backend; error?: string }[]) {
  test(`torch CNN parity [${name}]: forward, gradients, 5 SGD-momentum steps with weight_decay, running statistics, eval`, () => {
    assert.ok(backend, `the ${name} backend loads: ${error}`);
    const trainer = trainerFor(backend);
    const { model } = trainer;
    const B = fx.batches[0].y.length;
    // Step 0 by hand, to see the forward and the gradients; then undo the running-stat update it made.
    const saved = model.tensors.map((t) => t.value.slice());
    const x0 = new Float32Array(fx.batches[0].x), y0 = new Int32Array(fx.batches[0].y);
    model.zeroGrad();
    const logits = model.forward(x0, B, true);
    check(logits, fx.logits_step0, 'training-mode logits');
    const loss = new SoftmaxCrossEntropy(backend, fx.classes, B);
    loss.forwardBackward(logits, y0, B);
    model.backward(loss.grad(B), B);
    for (const p of model.params) check(p.grad, fx.grads_step0[p.name], `${p.name} gradient`);
    model.tensors.forEach((t, i) => t.value.set(saved[i]));

    let worst = 0;
    fx.batches.forEach((batch, k) => {
      const { dataLoss } = trainer.trainStep(new Float32Array(batch.x), new Int32Array(batch.y), B);
      assert.ok(Math.abs(dataLoss - fx.steps[k].loss) <= TOLERANCE * fx.steps[k].loss, `loss at step ${k + 1}: ${dataLoss} vs ${fx.steps[k].loss}`);
      for (const t of model.tensors) worst = Math.max(worst, check(t.value, fx.steps[k].state[t.name], `${t.name} after step ${k + 1}`));
    });
    check(model.forward(x0, B, false), fx.eval_logits, 'evaluation-mode logits (running statistics)');
    console.log(`torch CNN parity [${name}]: worst relative difference over 5 steps ${worst.toExponential(2)} (PyTorch ${fx.torch_version})`);
  });
}
