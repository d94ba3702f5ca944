/**
 * One trial: train a model with the trial's settings and report what the analysis needs.
 * Pure and browser-capable; the store and the scheduling live in node/ and cli/.
 */
import { take, type Dataset } from '../data/dataset.js';
import { DivergenceError } from '../errors.js';
import type { Backend } from '../kernels/backend.js';
import { mlpSpec } from '../nn/spec.js';
import { regularizationTerm } from '../regularization/plan.js';
import { Trainer } from '../train/trainer.js';
import type { Trial } from './trials.js';

export interface StudyData {
  /** The training pool; a trial with trainSize n uses its first n rows. */
  train: Dataset;
  /** The same validation rows for every trial. */
  validation: Dataset;
  test: Dataset | null;
}

export interface TrialResult {
  id: string;
  trial: Trial;
  /** Validation mean CE and accuracy after the last epoch (null when the run diverged). */
  final_val_ce: number | null;
  final_val_accuracy: number | null;
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
  epochs: number;
  steps: number;
  seconds: number;
  diverged: boolean;
}

export async function runTrial(trial: Trial, data: StudyData, backend: Backend): Promise<TrialResult> {
  const started = performance.now();
  const train = trial.trainSize > 0 ? take(data.train, trial.trainSize) : data.train;
  const stepsPerEpoch = Math.ceil(train.count / trial.batch);
  const epochs = trial.epochs ?? Math.ceil((trial.steps ?? 1) / stepsPerEpoch);
  const coefficient = trial.kind === 'decoupled' ? `pytorch-adamw:weight_decay=${trial.coefficient}` : `seed:lambda=${trial.coefficient}`;
  const trainer = new Trainer({
    model: mlpSpec(train.features, trial.hidden, train.classes, 'relu', 0, trial.norm),
    optimizer: { name: trial.optimizer, schedule: { type: 'constant', lr: trial.lr }, momentum: trial.momentum },
    regularization: [regularizationTerm(coefficient, {}, 'weights')],
    batchSize: trial.batch, epochs, seed: trial.seed,
  }, backend, train, data.validation);
  const base = { id: trial.id, trial, train_count: train.count, epochs: 0, steps: 0, seconds: 0 };
  try {
    await trainer.fit({ maxSteps: trial.steps });
  } catch (e) {
    if (!(e instanceof DivergenceError)) throw e;
    return {
      ...base, final_val_ce: null, final_val_accuracy: null, best_val_ce: null, best_val_accuracy: null, best_epoch: null,
      test_accuracy: null, test_ce: null, train_loss: null, penalty: null, weight_norm_sq: null,
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
    train_loss: last.data_loss, penalty: last.penalty, weight_norm_sq: last.weight_norm_sq,
    epochs: trainer.epoch, steps: trainer.step, seconds: (performance.now() - started) / 1000, diverged: false,
  };
}
