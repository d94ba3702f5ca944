/**
 * Parity with TensorFlow.js 4.22 (pure-JS `cpu` backend, run in-process): weights after 6
 * steps of SGD, momentum and Nesterov momentum on a 12→8→6→4 MLP whose kernels carry
 * `tf.regularizers.l2({ l2: c })`. Each row gives ridgeline TF.js's coefficient verbatim
 * (`tfjs:l2=0.01`) with `--decay-params framework` semantics (TF.js regularizes kernels only).
 *
 * What the TF.js side computes (read in node_modules/@tensorflow, 4.22.0):
 *  - tfjs-core ops/losses/softmax_cross_entropy.js: labelSmoothing defaults to 0 and reduction
 *    to SUM_BY_NONZERO_WEIGHTS, which compute_weighted_loss.js turns into sum(losses)/losses.size
 *    without weights: the mean CE over the batch.
 *  - tfjs-layers engine/training.js makeTrainFunction: totalLoss = mean(loss) plus each
 *    `calculateLosses()` term once per batch, unscaled by the batch size; regularizers.js
 *    L1L2.apply gives l2·Σw² (l1 = 0 for regularizers.l2). So E = mean CE + c·Σ_kernels w²,
 *    ridgeline's λ_E = c (conventions.ts, id 'tfjs').
 *  - tfjs-core optimizers/sgd_optimizer.js: w ← w − η·g; momentum_optimizer.js: the
 *    accumulator starts at zeros, a ← μ·a + g, then w ← w − η·a, or with Nesterov
 *    w ← w − η·(g + μ·a) with the new a (PyTorch's SGD with dampening 0).
 *
 * The last test shows the comparison can fail: ridgeline without the L2 term, with it on the
 * biases too, or at half the coefficient (tf1's λ_E = c/2) lands > 100 tolerances away.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { jsBackend } from '../../src/kernels/js/index.js';
import { createDataset } from '../../src/data/dataset.js';
import { Trainer, type TrainConfig } from '../../src/train/trainer.js';
import type { OptimizerConfig } from '../../src/optim/recipes.js';
import { parseCoefficient } from '../../src/regularization/conventions.js';
import { termFromGiven, type DecayParamsChoice } from '../../src/regularization/plan.js';
import { difference } from '../helpers/close.js';

const started = performance.now();
const TOLERANCE = 1e-5;
/** Dropping the L2 term must move the weights by more than this many tolerances. */
const SENSITIVITY = 100;
const SIZES = [12, 8, 6, 4] as const;
const BATCH = 5, STEPS = 6;

// case, optimizer, TF.js's coefficient as a user would type it; one line each.
const rows: [string, OptimizerConfig, string | null][] = [
  ['sgd', { name: 'sgd', schedule: { type: 'constant', lr: 0.1 } }, null],
  ['sgd_l2', { name: 'sgd', schedule: { type: 'constant', lr: 0.1 } }, 'tfjs:l2=0.01'],
  ['sgd_l2_large', { name: 'sgd', schedule: { type: 'constant', lr: 0.1 } }, 'tfjs:l2=0.1'],
  ['momentum', { name: 'momentum', schedule: { type: 'constant', lr: 0.05 }, momentum: 0.9 }, null],
  ['momentum_l2', { name: 'momentum', schedule: { type: 'constant', lr: 0.05 }, momentum: 0.9 }, 'tfjs:l2=0.01'],
  ['nesterov_l2', { name: 'nesterov', schedule: { type: 'constant', lr: 0.05 }, momentum: 0.9 }, 'tfjs:l2=0.01'],
  ['nesterov_l2_large', { name: 'nesterov', schedule: { type: 'constant', lr: 0.05 }, momentum: 0.9 }, 'tfjs:l2=0.1'],
];

const table: string[] = [];
const sensitivity: string[] = [];
after(() => {
  console.log([
    '', `TensorFlow.js parity (weights after ${STEPS} steps, max relative difference, tolerance ${TOLERANCE})`,
    '| framework | case | optimizer | convention given | B | max rel. difference |', ...table,
    '', `Sensitivity (ridgeline variant vs TF.js after ${STEPS} steps; must exceed ${(SENSITIVITY * TOLERANCE).toExponential(0)})`,
    ...sensitivity, '', `test body (after imports) ${((performance.now() - started) / 1000).toFixed(2)} s`,
  ].join('\n'));
});

before(async () => {
  tf.enableProdMode(); // only silences tfjs's console warnings (the "install tfjs-node" banner)
  assert.ok(await tf.setBackend('cpu'), 'TF.js cpu backend');
  await tf.ready();
});

// ---- deterministic data and initial weights --------------------------------------------

/** mulberry32 with Box–Muller normals; self-contained so the test does not depend on src/tensor/rng. */
function generator(seed: number) {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

interface Batch { x: Float32Array; y: Int32Array }
type Weights = Map<string, Float32Array>;

const rng = generator(20240611);
const batches: Batch[] = Array.from({ length: STEPS }, () => ({
  x: Float32Array.from({ length: BATCH * SIZES[0] }, rng.normal),
  y: Int32Array.from({ length: BATCH }, () => Math.floor(rng.uniform() * SIZES[3])),
}));

/** ridgeline layout: dense{k}.weight [out, in] (Glorot uniform), dense{k}.bias [out] (nonzero, so decaying it would show). */
const init: Weights = new Map();
for (let k = 1; k < SIZES.length; k++) {
  const fanIn = SIZES[k - 1], fanOut = SIZES[k], a = Math.sqrt(6 / (fanIn + fanOut));
  init.set(`dense${k}.weight`, Float32Array.from({ length: fanIn * fanOut }, () => (2 * rng.uniform() - 1) * a));
  init.set(`dense${k}.bias`, Float32Array.from({ length: fanOut }, () => (2 * rng.uniform() - 1) * 0.1));
}

/** [rows, cols] row-major → [cols, rows]: ridgeline's [out, in] ↔ TF.js's Dense kernel [in, out]. */
function transpose(a: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}

// ---- TF.js -----------------------------------------------------------------------------

function tfjsOptimizer(o: OptimizerConfig): tf.Optimizer {
  assert.equal(o.schedule.type, 'constant');
  const lr = (o.schedule as { lr: number }).lr;
  switch (o.name) {
    case 'sgd': return tf.train.sgd(lr);
    case 'momentum': return tf.train.momentum(lr, o.momentum!);
    case 'nesterov': return tf.train.momentum(lr, o.momentum!, true);
    default: throw new Error(`no TF.js counterpart for ${o.name} in this test`);
  }
}

/** TF.js's coefficient from the row's text (`tfjs:l2=<c>`), or null. */
function tfjsL2(coefficient: string | null): number | null {
  if (coefficient === null) return null;
  const m = /^tfjs:l2=(.+)$/.exec(coefficient);
  assert.ok(m, `row coefficient ${coefficient} is not tfjs:l2=<c>`);
  return Number(m[1]);
}

/** Trains TF.js itself; returns the weights (ridgeline layout) and the total loss of every step. */
async function runTfjs(optimizerConfig: OptimizerConfig, l2: number | null): Promise<{ weights: Weights[]; losses: number[] }> {
  const tensorsBefore = tf.memory().numTensors;
  const model = tf.sequential();
  for (let k = 1; k < SIZES.length; k++) {
    model.add(tf.layers.dense({
      units: SIZES[k], activation: k < SIZES.length - 1 ? 'relu' : 'linear',
      ...(k === 1 ? { inputShape: [SIZES[0]] } : {}),
      ...(l2 === null ? {} : { kernelRegularizer: tf.regularizers.l2({ l2 }) }),
    }));
  }
  tf.tidy(() => model.setWeights([...Array(SIZES.length - 1).keys()].flatMap((i) => {
    const fanIn = SIZES[i], fanOut = SIZES[i + 1];
    return [
      tf.tensor2d(transpose(init.get(`dense${i + 1}.weight`)!, fanOut, fanIn), [fanIn, fanOut]),
      tf.tensor1d(init.get(`dense${i + 1}.bias`)!),
    ];
  })));
  const optimizer = tfjsOptimizer(optimizerConfig);
  model.compile({ optimizer, loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.losses.softmaxCrossEntropy(yTrue, yPred) });

  const weights: Weights[] = [], losses: number[] = [];
  for (const b of batches) {
    const oneHot = new Float32Array(BATCH * SIZES[3]);
    b.y.forEach((label, r) => { oneHot[r * SIZES[3] + label] = 1; });
    const x = tf.tensor2d(b.x, [BATCH, SIZES[0]]), y = tf.tensor2d(oneHot, [BATCH, SIZES[3]]);
    const loss = await model.trainOnBatch(x, y);
    tf.dispose([x, y]);
    assert.equal(typeof loss, 'number');
    losses.push(loss as number);
    const snapshot: Weights = new Map();
    model.layers.forEach((layer, i) => {
      // getWeights() returns the variables' own tensors: read them, never dispose them.
      const [kernel, bias] = layer.getWeights();
      const fanIn = SIZES[i], fanOut = SIZES[i + 1];
      assert.deepEqual(kernel.shape, [fanIn, fanOut]);
      snapshot.set(`dense${i + 1}.weight`, transpose(kernel.dataSync(), fanIn, fanOut));
      snapshot.set(`dense${i + 1}.bias`, Float32Array.from(bias.dataSync()));
    });
    weights.push(snapshot);
  }
  model.dispose();
  optimizer.dispose();
  // TF.js 4.22's MomentumOptimizer.dispose() frees μ and the accumulators but not the -η scalar
  // its SGDOptimizer parent keeps (sgd_optimizer.js setLearningRate: this.c = keep(scalar(-lr))).
  if (optimizer instanceof tf.MomentumOptimizer) tf.SGDOptimizer.prototype.dispose.call(optimizer);
  assert.equal(tf.memory().numTensors, tensorsBefore, 'TF.js tensors leaked');
  return { weights, losses };
}

// ---- ridgeline -------------------------------------------------------------------------

function runRidgeline(optimizer: OptimizerConfig, coefficient: string | null, decayParams: DecayParamsChoice = 'framework') {
  const [input, h1, h2, classes] = SIZES;
  const config: TrainConfig = {
    model: { inputSize: input, classes, layers: [
      { type: 'dense', units: h1 }, { type: 'relu' }, { type: 'dense', units: h2 }, { type: 'relu' }, { type: 'dense', units: classes }] },
    optimizer, batchSize: BATCH, epochs: 1, seed: 0,
    regularization: coefficient === null ? [] : [termFromGiven(parseCoefficient(coefficient, 'seed', 'test'), {}, decayParams)],
  };
  const x = new Float32Array(STEPS * BATCH * input), y = new Int32Array(STEPS * BATCH);
  batches.forEach((b, k) => { x.set(b.x, k * b.x.length); y.set(b.y, k * BATCH); });
  const trainer = new Trainer(config, jsBackend, createDataset(x, y, [input], classes));
  assert.deepEqual(trainer.model.params.map((p) => p.name).sort(), [...init.keys()].sort());
  for (const p of trainer.model.params) p.value.set(init.get(p.name)!);
  const weights: Weights[] = [], losses: number[] = [];
  for (const b of batches) {
    const { dataLoss, penalty } = trainer.trainStep(b.x, b.y, BATCH);
    losses.push(dataLoss + penalty);
    weights.push(new Map(trainer.model.params.map((p) => [p.name, p.value.slice()])));
  }
  return { weights, losses };
}

/** Worst norm-wise relative difference over the tensors of one step. */
function worstDifference(actual: Weights, expected: Weights): number {
  let worst = 0;
  for (const [name, e] of expected) worst = Math.max(worst, difference(actual.get(name)!, e).maxRel);
  return worst;
}

// ---- tests -----------------------------------------------------------------------------

const tfjsRuns = new Map<string, { weights: Weights[]; losses: number[] }>();

for (const [name, optimizer, coefficient] of rows) {
  test(`tfjs parity: ${name} (${optimizer.name}, ${coefficient ?? 'no regularizer'})`, async () => {
    const ref = await runTfjs(optimizer, tfjsL2(coefficient));
    tfjsRuns.set(name, ref);
    const ours = runRidgeline(optimizer, coefficient);
    let worst = 0;
    for (let k = 0; k < STEPS; k++) {
      // TF.js's returned loss is its total: mean CE + c·Σ kernel², before the step.
      assert.ok(Math.abs(ours.losses[k] - ref.losses[k]) <= TOLERANCE * Math.abs(ref.losses[k]),
        `loss at step ${k + 1}: ridgeline ${ours.losses[k]} vs TF.js ${ref.losses[k]}`);
      for (const [param, expected] of ref.weights[k]) {
        const d = difference(ours.weights[k].get(param)!, expected);
        worst = Math.max(worst, d.maxRel);
        assert.ok(d.maxRel <= TOLERANCE, `${param} after step ${k + 1}: relative difference ${d.maxRel.toExponential(2)}`);
      }
    }
    table.push(`| TensorFlow.js ${tf.version.tfjs} (cpu) | ${name} | ${optimizer.name} | ${coefficient ?? '—'} | ${BATCH} | ${worst.toExponential(2)} |`);
  });
}

test('tfjs parity is sensitive to the L2 term and to its parameter selection', async () => {
  const variants: [string, (o: OptimizerConfig, c: string) => ReturnType<typeof runRidgeline>][] = [
    ['without the L2 term', (o) => runRidgeline(o, null)],
    ['decaying biases too (all)', (o, c) => runRidgeline(o, c, 'all')],
    ['with half of it (tf1:scale=c)', (o, c) => runRidgeline(o, c.replace('tfjs:l2=', 'tf1:scale='))],
  ];
  for (const [name, optimizer, coefficient] of rows) {
    if (coefficient === null) continue;
    const ref = tfjsRuns.get(name) ?? await runTfjs(optimizer, tfjsL2(coefficient));
    for (const [what, run] of variants) {
      const d = worstDifference(run(optimizer, coefficient).weights[STEPS - 1], ref.weights[STEPS - 1]);
      sensitivity.push(`| ${name.padEnd(17)} | ${coefficient.padEnd(12)} | ridgeline ${what.padEnd(29)} | ${d.toExponential(2)} |`);
      assert.ok(d > SENSITIVITY * TOLERANCE, `${name}: ridgeline ${what} is within ${d.toExponential(2)} of TF.js; the test would not notice`);
    }
  }
});
