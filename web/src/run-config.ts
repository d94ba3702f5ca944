/**
 * From the Train-live form to the library's TrainConfig, as `ridgeline train` builds one (an
 * MLP, a constant learning rate, the coefficient in any convention compiled by
 * compileRegularization with the run's own B, N, η, T and P). Pure: the page's worker and the
 * browser test (which trains the same config on the js reference in Node) both call it.
 */
import { mlpSpec } from '../../src/nn/spec.js';
import type { OptimizerConfig, OptimizerName } from '../../src/optim/recipes.js';
import { findConvention } from '../../src/regularization/conventions.js';
import { compileRegularization } from '../../src/regularization/compile.js';
import type { TrainConfig } from '../../src/train/trainer.js';

export interface RunOptions {
  hidden: number[];
  batchNorm: boolean;
  batch: number;
  optimizer: OptimizerName;
  lr: number;
  /** μ for momentum and nesterov. */
  momentum: number;
  /** The regularization coefficient in a convention of `ridgeline conventions`. */
  convention: string;
  coefficient: number;
  epochs: number;
  seed: number;
  /** Training rows held out for validation (a fraction, as `--validation`). */
  validation: number;
}

/** The defaults of `ridgeline train` (its --help), with 10 epochs. */
export const DEFAULT_RUN: RunOptions = {
  hidden: [256, 256], batchNorm: false, batch: 128, optimizer: 'momentum', lr: 0.05, momentum: 0.9,
  convention: 'seed', coefficient: 1e-4, epochs: 10, seed: 1, validation: 0.1,
};

/** The coefficient as `--l2`/`--decay` text: `sklearn-mlp:alpha=0.064`. */
export function coefficientText(o: Pick<RunOptions, 'convention' | 'coefficient'>): string {
  return `${o.convention}:${findConvention(o.convention).param}=${o.coefficient}`;
}

export function runConfig(o: RunOptions, shape: readonly number[], classes: number, trainCount: number): { config: TrainConfig; notes: string[] } {
  const features = shape.reduce((a, b) => a * b, 1);
  const model = mlpSpec(features, o.hidden, classes, 'relu', 0, o.batchNorm ? 'batchnorm' : undefined);
  const text = coefficientText(o);
  const coupled = findConvention(o.convention).kind === 'coupled';
  const reg = compileRegularization(
    { ...(coupled ? { l2: text } : { decay: text }), decayParams: 'weights', optimizer: o.optimizer },
    { spec: model, trainCount, batch: o.batch, lr: o.lr, epochs: o.epochs });
  const optimizer: OptimizerConfig = {
    name: o.optimizer, schedule: { type: 'constant', lr: o.lr },
    ...(o.optimizer === 'momentum' || o.optimizer === 'nesterov' ? { momentum: o.momentum } : {}),
    ...(Object.keys(reg.lrScale).length > 0 ? { lrScale: reg.lrScale } : {}),
  };
  return { config: { model, optimizer, regularization: reg.terms, batchSize: o.batch, epochs: o.epochs, seed: o.seed }, notes: reg.notes };
}
