/**
 * Parity with PyTorch 1.13: weights after 6 steps of each optimizer, from fixtures made by
 * tools/make_torch_fixtures.py (Debian python3-torch). Each row gives ridgeline PyTorch's
 * coefficient verbatim, in PyTorch's convention (`pytorch-sgd:weight_decay=0.01`), with
 * `--decay-params framework` semantics (torch.optim decays biases too).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { jsBackend } from '../../src/kernels/js/index.js';
import type { Backend } from '../../src/kernels/backend.js';
import { loadBackends } from '../../src/kernels/select-node.js';
import { createDataset } from '../../src/data/dataset.js';
import { SoftmaxCrossEntropy } from '../../src/loss/softmax-cross-entropy.js';
import { Trainer, type TrainConfig } from '../../src/train/trainer.js';
import type { ScheduleSpec } from '../../src/optim/schedule.js';
import type { OptimizerConfig } from '../../src/optim/recipes.js';
import { parseCoefficient } from '../../src/regularization/conventions.js';
import { termFromGiven } from '../../src/regularization/plan.js';
import { difference } from '../helpers/close.js';

interface Fixture {
  torch_version: string;
  model: { sizes: number[] };
  params_init: Record<string, { shape: number[]; data: number[] }>;
  batches: { x: number[]; y: number[] }[];
  grads_step0: Record<string, { shape: number[]; data: number[] }>;
  steps: { lr: number; loss: number; params: Record<string, { shape: number[]; data: number[] }> }[];
}

const load = (name: string): Fixture => JSON.parse(readFileSync(new URL(`../fixtures/torch/${name}.json`, import.meta.url), 'utf8'));

const constant = (lr: number): ScheduleSpec => ({ type: 'constant', lr });
const TOLERANCE = 1e-5;

// case, optimizer, PyTorch's coefficient as a user would type it; one line each, like tinygrad's optimizer tests.
const rows: [string, OptimizerConfig, string | null][] = [
  ['sgd', { name: 'sgd', schedule: constant(0.1) }, null],
  ['sgd_wd', { name: 'sgd', schedule: constant(0.1) }, 'pytorch-sgd:weight_decay=0.01'],
  ['momentum', { name: 'momentum', schedule: constant(0.05), momentum: 0.9 }, null],
  ['momentum_wd', { name: 'momentum', schedule: constant(0.05), momentum: 0.9 }, 'pytorch-sgd:weight_decay=0.01'],
  ['momentum_dampening_wd', { name: 'momentum', schedule: constant(0.05), momentum: 0.9, dampening: 0.5 }, 'pytorch-sgd:weight_decay=0.01'],
  ['nesterov', { name: 'nesterov', schedule: constant(0.05), momentum: 0.9 }, null],
  ['nesterov_wd', { name: 'nesterov', schedule: constant(0.05), momentum: 0.9 }, 'pytorch-sgd:weight_decay=0.01'],
  ['sgd_wd_step', { name: 'momentum', schedule: { type: 'step', lr: 0.1, every: 2, gamma: 0.5 }, momentum: 0.9 }, 'pytorch-sgd:weight_decay=0.005'],
  ['adam', { name: 'adam', schedule: constant(0.01) }, null],
  ['adam_wd', { name: 'adam', schedule: constant(0.01) }, 'pytorch-adam:weight_decay=0.01'],
  ['adamw', { name: 'adamw', schedule: constant(0.01) }, 'pytorch-adamw:weight_decay=0.1'],
  ['adamw_cosine', { name: 'adamw', schedule: { type: 'cosine', lr: 0.01, steps: 6, minLr: 0.001 } }, 'pytorch-adamw:weight_decay=0.1'],
];

const table: string[] = [];
const others: string[] = [];
after(() => {
  if (others.length > 0) console.log(['', 'PyTorch parity on the fast backends (max relative difference)', ...others].join('\n'));
  console.log(['', 'PyTorch parity (weights after 6 steps, max relative difference)',
    '| framework | case | optimizer | convention given | B | max rel. difference |', ...table].join('\n'));
});

/** A trainer loaded with the fixture's initial weights; steps are driven batch by batch. */
// Every backend runs every row (one suite for all backends). CI builds them all, so a backend
// that does not load is a failure, not a skip.
const backends: { name: string; backend?: Backend; error?: string }[] = await loadBackends();
for (const b of backends) {
  if ('error' in b && b.error) test(`torch parity: the ${b.name} backend loads`, () => assert.fail(`${b.name}: ${b.error}`));
}

function trainerFor(fx: Fixture, optimizer: OptimizerConfig, coefficient: string | null, backend: Backend = jsBackend): Trainer {
  const [input, h1, h2, classes] = fx.model.sizes;
  const config: TrainConfig = {
    model: { inputSize: input, classes, layers: [
      { type: 'dense', units: h1 }, { type: 'relu' }, { type: 'dense', units: h2 }, { type: 'relu' }, { type: 'dense', units: classes }] },
    optimizer, batchSize: 5, epochs: 1, seed: 0,
    regularization: coefficient === null ? [] : [termFromGiven(parseCoefficient(coefficient, 'seed', 'test'), {}, 'framework')],
  };
  const x = new Float32Array(fx.batches.flatMap((b) => b.x)), y = new Int32Array(fx.batches.flatMap((b) => b.y));
  const trainer = new Trainer(config, backend, createDataset(x, y, [input], classes));
  for (const p of trainer.model.params) p.value.set(fx.params_init[p.name].data);
  return trainer;
}

for (const { name: backendName, backend } of backends) for (const [name, optimizer, coefficient] of rows) {
  if (!backend) continue;
  test(`torch parity [${backendName}]: ${name} (${optimizer.name}, ${coefficient ?? 'no decay'})`, () => {
    const fx = load(name);
    const trainer = trainerFor(fx, optimizer, coefficient, backend);
    let worst = 0;
    fx.batches.forEach((batch, k) => {
      const { dataLoss } = trainer.trainStep(new Float32Array(batch.x), new Int32Array(batch.y), batch.y.length);
      assert.ok(Math.abs(dataLoss - fx.steps[k].loss) <= 1e-5 * Math.abs(fx.steps[k].loss), `loss at step ${k}: ${dataLoss} vs ${fx.steps[k].loss}`);
      for (const p of trainer.model.params) {
        const d = difference(p.value, fx.steps[k].params[p.name].data);
        worst = Math.max(worst, d.maxRel);
        assert.ok(d.maxRel <= TOLERANCE, `${p.name} after step ${k + 1}: relative difference ${d.maxRel.toExponential(2)}`);
      }
    });
    if (backendName === 'js') table.push(`| PyTorch ${fx.torch_version} | ${name} | ${optimizer.name} | ${coefficient ?? '—'} | 5 | ${worst.toExponential(2)} |`);
    else others.push(`${backendName}: ${name} ${worst.toExponential(2)}`);
  });
}

test('torch parity: gradients of the first step', () => {
  const fx = load('sgd');
  const trainer = trainerFor(fx, { name: 'sgd', schedule: constant(0.1) }, null);
  const { model } = trainer;
  const b = fx.batches[0];
  model.zeroGrad();
  const logits = model.forward(new Float32Array(b.x), 5, true);
  const loss = new SoftmaxCrossEntropy(jsBackend, 4, 5);
  loss.forwardBackward(logits, new Int32Array(b.y), 5);
  model.backward(loss.grad(5), 5);
  for (const p of model.params) {
    const d = difference(p.grad, fx.grads_step0[p.name].data);
    assert.ok(d.maxRel <= 1e-5, `${p.name} gradient: relative difference ${d.maxRel}`);
  }
});
