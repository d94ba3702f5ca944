/**
 * One trial: train a model with the trial's settings and report what the analysis needs,
 * including the per-epoch validation curve. Pure and browser-capable; the store and the
 * scheduling live in node/ and cli/.
 */
import { subset, type Dataset } from '../data/dataset.js';
import { DivergenceError } from '../errors.js';
import type { Backend } from '../kernels/backend.js';
import { parseArch } from '../nn/spec.js';
import type { ScheduleSpec } from '../optim/schedule.js';
import { compileRegularization } from '../regularization/compile.js';
import { Rng } from '../tensor/rng.js';
import { Trainer } from '../train/trainer.js';
import type { Trial } from './trials.js';

export interface StudyData {
  /** The training pool; a trial draws its trainSize rows from it with its seed. */
  train: Dataset;
  /** The same validation rows for every trial. */
  validation: Dataset;
  test: Dataset | null;
}

/** One epoch of a trial's validation curve. */
export interface CurvePoint {
  epoch: number;
  val_ce: number | null;
  val_error: number | null;
  /** Means over the epoch's steps. */
  train_loss: number;
  penalty: number;
}

export interface TrialResult {
  id: string;
  trial: Trial;
  /** Validation mean CE and accuracy after the last epoch (null when the run diverged). */
  final_val_ce: number | null;
  final_val_accuracy: number | null;
  /** The epoch with the lowest validation CE, and its CE and accuracy. */
  best_val_ce: number | null;
  best_val_accuracy: number | null;
  best_epoch: number | null;
  test_accuracy: number | null;
  test_ce: number | null;
  /** Data term and penalty, means over the last epoch's steps. */
  train_loss: number | null;
  penalty: number | null;
  /** Σw² over the decayed (weight) tensors at the end. */
  weight_norm_sq: number | null;
  /** Training rows this trial used (N). */
  train_count: number;
  /** P: scalar parameters in the decayed tensors (dense weights and conv kernels). Absent in first-edition records. */
  decayed_params?: number;
  /** Every epoch's validation CE and error (second edition). */
  curve?: CurvePoint[];
  epochs: number;
  steps: number;
  seconds: number;
  diverged: boolean;
}

/** The training rows of a trial: the first n of a permutation of the pool drawn by the seed, in pool order. */
export function trialRows(pool: Dataset, trainSize: number, seed: number): Dataset {
  if (trainSize === 0 || trainSize >= pool.count) return pool;
  const order = new Int32Array(pool.count);
  for (let i = 0; i < order.length; i++) order[i] = i;
  Rng.derive(seed, 'study-subset').shuffle(order);
  return subset(pool, order.slice(0, trainSize).sort());
}

export async function runTrial(trial: Trial, data: StudyData, backend: Backend): Promise<TrialResult> {
  const started = performance.now();
  const train = trialRows(data.train, trial.trainSize, trial.seed);
  const stepsPerEpoch = Math.ceil(train.count / trial.batch);
  const epochs = trial.epochs ?? Math.ceil((trial.steps ?? 1) / stepsPerEpoch);
  const totalSteps = trial.steps ?? epochs * stepsPerEpoch;
  const model = parseArch(trial.arch, train.shape, train.classes);
  const schedule: ScheduleSpec = trial.schedule === 'cosine'
    ? { type: 'cosine', lr: trial.lr, steps: totalSteps, minLr: 0 }
    : { type: 'constant', lr: trial.lr };
  const decoupled = trial.mupWidthMult !== undefined ? `mup-adamw:weight_decay=${trial.coefficient}` : `pytorch-adamw:weight_decay=${trial.coefficient}`;
  const reg = compileRegularization({
    ...(trial.kind === 'decoupled' ? { decay: decoupled } : { l2: `seed:lambda=${trial.coefficient}` }),
    decayParams: 'weights', widthMult: trial.mupWidthMult, optimizer: trial.optimizer,
  }, { spec: model, trainCount: train.count, batch: trial.batch, lr: trial.lr, epochs });
  const lrScale = Object.keys(reg.lrScale).length > 0 ? reg.lrScale : undefined;
  const trainer = new Trainer({
    model,
    optimizer: { name: trial.optimizer, schedule, momentum: trial.momentum, ...(lrScale ? { lrScale } : {}) },
    regularization: reg.terms,
    batchSize: trial.batch, epochs, seed: trial.seed,
  }, backend, train, data.validation);
  const decayed = trainer.decayed.reduce((s, p) => s + p.value.length, 0);
  const base = { id: trial.id, trial, train_count: train.count, decayed_params: decayed, epochs: 0, steps: 0, seconds: 0 };
  try {
    await trainer.fit({ maxSteps: trial.steps });
  } catch (e) {
    if (!(e instanceof DivergenceError)) throw e;
    return {
      ...base, final_val_ce: null, final_val_accuracy: null, best_val_ce: null, best_val_accuracy: null, best_epoch: null,
      test_accuracy: null, test_ce: null, train_loss: null, penalty: null, weight_norm_sq: null, curve: curveOf(trainer),
      epochs: trainer.epoch, steps: trainer.step, seconds: (performance.now() - started) / 1000, diverged: true,
    };
  }
  const h = trainer.history;
  const last = h[h.length - 1];
  const best = h.reduce((a, b) => ((b.val_loss ?? Infinity) < (a.val_loss ?? Infinity) ? b : a));
  const test = data.test ? trainer.evaluate(data.test) : null;
  return {
    ...base,
    final_val_ce: last.val_loss, final_val_accuracy: last.val_accuracy,
    best_val_ce: best.val_loss, best_val_accuracy: best.val_accuracy, best_epoch: best.epoch,
    test_accuracy: test?.accuracy ?? null, test_ce: test?.loss ?? null,
    train_loss: last.data_loss, penalty: last.penalty, weight_norm_sq: last.weight_norm_sq, curve: curveOf(trainer),
    epochs: trainer.epoch, steps: trainer.step, seconds: (performance.now() - started) / 1000, diverged: false,
  };
}

function curveOf(trainer: Trainer): CurvePoint[] {
  const r6 = (v: number) => Number(v.toPrecision(6));
  return trainer.history.map((h) => ({
    epoch: h.epoch,
    val_ce: h.val_loss === null ? null : r6(h.val_loss),
    val_error: h.val_accuracy === null ? null : r6(1 - h.val_accuracy),
    train_loss: r6(h.data_loss), penalty: r6(h.penalty),
  }));
}
