/**
 * Optimizers are recipes: a few lines whose body is one chain. The library's users compose
 * them directly; the trainer builds the same chains from an OptimizerConfig and the
 * regularization terms with `createOptimizer`, slotting coupled L2 before the moments (where
 * PyTorch's `weight_decay` sits for SGD and Adam) and decoupled decay after them.
 */
import type { ParamMask } from '../regularization/mask.js';
import type { DecoupledDecay } from '../regularization/units.js';
import type { ScheduleSpec } from './schedule.js';
import { chain, masked, type GradientTransformation } from './transform.js';
import { addDecayedWeights, scaleByAdam, scaleByLearningRate, scaleByParam, traceMomentum, type AdamOptions } from './transforms.js';

type Lr = ScheduleSpec | number;

/** Plain SGD: w ← w − η·g. */
export const sgd = (lr: Lr) => chain(scaleByLearningRate(lr));

/** Heavy-ball momentum, PyTorch `SGD(momentum=μ, dampening=d)`. */
export const momentum = (lr: Lr, mu: number, dampening = 0) =>
  chain(traceMomentum({ momentum: mu, dampening }), scaleByLearningRate(lr));

/** Nesterov momentum, PyTorch `SGD(momentum=μ, nesterov=True)`. */
export const nesterov = (lr: Lr, mu: number) =>
  chain(traceMomentum({ momentum: mu, nesterov: true }), scaleByLearningRate(lr));

/** Adam (Kingma & Ba), PyTorch `Adam` with weight_decay=0. */
export const adam = (lr: Lr, options: AdamOptions = {}) => chain(scaleByAdam(options), scaleByLearningRate(lr));

/**
 * AdamW (Loshchilov & Hutter): Adam's direction, then decoupled decay c·w on the masked
 * parameters, then the learning rate, so the shrink per step is η_t·c. PyTorch `AdamW` and
 * optax `adamw` decay every parameter by default; pass a mask to match.
 */
export const adamw = (lr: Lr, decay: DecoupledDecay, mask: ParamMask, options: AdamOptions = {}) =>
  chain(scaleByAdam(options), masked(addDecayedWeights(decay), mask), scaleByLearningRate(lr));

import type { OptimizerName } from './names.js';
export { OPTIMIZERS, type OptimizerName } from './names.js';

/** An optimizer as data (saved with the run). Regularization is not part of it: see RegTerm. */
export interface OptimizerConfig {
  name: OptimizerName;
  schedule: ScheduleSpec;
  /** μ for momentum and nesterov. */
  momentum?: number;
  dampening?: number;
  b1?: number;
  b2?: number;
  eps?: number;
  /** Adam's ε placement (see scaleByAdam); 'uncorrected' is scikit-learn's. */
  epsilon?: 'corrected' | 'uncorrected';
  /** Per-parameter learning-rate multipliers by name (muP's per-group learning rates). */
  lrScale?: Record<string, number>;
}

/**
 * The moment estimates of an optimizer: what sits between coupled L2 (before) and decoupled
 * decay (after). 'adamw' has Adam's moments; its decay is a regularization term.
 */
export function momentsFor(config: OptimizerConfig): GradientTransformation<any>[] {
  switch (config.name) {
    case 'sgd': return [];
    case 'momentum': return [traceMomentum({ momentum: config.momentum ?? 0.9, dampening: config.dampening ?? 0 })];
    case 'nesterov': return [traceMomentum({ momentum: config.momentum ?? 0.9, nesterov: true })];
    case 'adam': case 'adamw': return [scaleByAdam({ b1: config.b1, b2: config.b2, eps: config.eps, epsilon: config.epsilon })];
  }
}

/** Where regularization transforms go in the chain (see train/objective.ts). */
export interface ChainSlots {
  beforeMoments?: GradientTransformation<any>[];
  afterMoments?: GradientTransformation<any>[];
  afterLr?: GradientTransformation<any>[];
}

/**
 * The whole update: [coupled L2] → moments → [decoupled decay] → (per-parameter lr scale) →
 * learning rate → [lr-independent decay]. The compiler checks every optimizer is handled.
 */
export function createOptimizer(config: OptimizerConfig, slots: ChainSlots = {}): GradientTransformation<any> {
  const lrScale = config.lrScale && Object.keys(config.lrScale).length > 0 ? [scaleByParam(config.lrScale)] : [];
  return chain(
    ...(slots.beforeMoments ?? []), ...momentsFor(config), ...(slots.afterMoments ?? []),
    ...lrScale, scaleByLearningRate(config.schedule), ...(slots.afterLr ?? []),
  );
}
