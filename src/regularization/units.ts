/**
 * Regularization coefficients carry their units in their types. An objective-level L2
 * coefficient λ_E and a decoupled decay are different things (regularization.md, "Canonical
 * quantities"): λ_E defines an objective, a decoupled decay only a per-step shrink. Nothing
 * turns one into the other without the context (η, μ, B, N, optimizer) that makes it valid.
 */
import { ConfigError } from '../errors.js';

declare const unit: unique symbol;
type Unit<Name extends string> = number & { readonly [unit]: Name };

/** λ_E in E = mean CE + λ_E·Σw². Gradient contribution 2λ_E·w. */
export type L2Coefficient = Unit<'L2 coefficient λ_E'>;

/**
 * Decoupled, learning-rate-coupled decay c (PyTorch `AdamW(weight_decay=c)`, optax `adamw`):
 * each step shrinks a weight by δ = η_t·c, following the learning-rate schedule.
 */
export type DecoupledDecay = Unit<'decoupled decay per unit lr'>;

/** Decoupled decay applied as a fixed fraction δ per step, whatever η (tf-addons SGDW, brain.js regc). */
export type StepDecay = Unit<'decay per step δ'>;

function checked(value: number, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ConfigError(`${what} must be a finite number, got ${value}`);
  if (value < 0) throw new ConfigError(`${what} must be non-negative, got ${value}`);
  return value;
}

export const l2Coefficient = (value: number, what = 'L2 coefficient λ_E'): L2Coefficient => checked(value, what) as L2Coefficient;
export const decoupledDecay = (value: number, what = 'decoupled weight decay'): DecoupledDecay => checked(value, what) as DecoupledDecay;
export const stepDecay = (value: number, what = 'per-step decay δ'): StepDecay => {
  const v = checked(value, what);
  if (v >= 1) throw new ConfigError(`${what} must be below 1 (it is a fraction of the weight removed per step), got ${v}`);
  return v as StepDecay;
};
