/**
 * Optimizers are recipes: a few lines whose body is one chain. The objective's coupled L2
 * gradient is not part of them; the trainer puts it in front (see train/objective.ts), which
 * is where PyTorch's `weight_decay` sits for SGD and Adam.
 */
import type { ParamMask } from '../regularization/mask.js';
import type { DecoupledDecay } from '../regularization/units.js';
import type { ScheduleSpec } from './schedule.js';
import { chain, masked, type GradientTransformation } from './transform.js';
import { addDecayedWeights, scaleByAdam, scaleByLearningRate, traceMomentum, type AdamOptions } from './transforms.js';

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

export type OptimizerName = 'sgd' | 'momentum' | 'nesterov' | 'adam' | 'adamw';
export const OPTIMIZERS: readonly OptimizerName[] = ['sgd', 'momentum', 'nesterov', 'adam', 'adamw'];

export interface OptimizerConfig {
  name: OptimizerName;
  schedule: ScheduleSpec;
  /** μ for momentum and nesterov. */
  momentum?: number;
  dampening?: number;
  b1?: number;
  b2?: number;
  eps?: number;
  /** AdamW's decoupled decay c (δ = η_t·c per step); required for 'adamw'. */
  decay?: DecoupledDecay;
}

/** The recipe for a config; the compiler checks every optimizer name is handled. */
export function createOptimizer(config: OptimizerConfig, decayMask: ParamMask): GradientTransformation<any> {
  const lr = config.schedule, adamOptions = { b1: config.b1, b2: config.b2, eps: config.eps };
  switch (config.name) {
    case 'sgd': return sgd(lr);
    case 'momentum': return momentum(lr, config.momentum ?? 0.9, config.dampening ?? 0);
    case 'nesterov': return nesterov(lr, config.momentum ?? 0.9);
    case 'adam': return adam(lr, adamOptions);
    case 'adamw': return adamw(lr, config.decay ?? (0 as DecoupledDecay), decayMask, adamOptions);
  }
}
