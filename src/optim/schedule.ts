/**
 * Learning-rate schedules as data (saved with the run) and as functions of the step count t
 * (the number of updates already applied; the first update uses t = 0).
 */
import { ConfigError } from '../errors.js';

export type ScheduleSpec =
  | { type: 'constant'; lr: number }
  /** lr·γ^⌊t/every⌋: PyTorch `StepLR(step_size=every, gamma=γ)` stepped once per update. */
  | { type: 'step'; lr: number; every: number; gamma: number }
  /**
   * minLr + (lr − minLr)·(1 + cos(π·t/steps))/2, held at minLr after `steps`: PyTorch
   * `CosineAnnealingLR(T_max=steps, eta_min=minLr)` stepped once per update (PyTorch keeps
   * oscillating past T_max; we hold, which is what a user asking for a decay wants).
   */
  | { type: 'cosine'; lr: number; steps: number; minLr: number }
  /** Linear warm-up lr·(t+1)/steps over `steps` updates, then `then` from its own t = 0. */
  | { type: 'warmup'; steps: number; then: ScheduleSpec };

export type Schedule = (t: number) => number;

export function createSchedule(spec: ScheduleSpec): Schedule {
  validateSchedule(spec);
  switch (spec.type) {
    case 'constant': return () => spec.lr;
    case 'step': return (t) => spec.lr * Math.pow(spec.gamma, Math.floor(t / spec.every));
    case 'cosine': return (t) => {
      const c = Math.min(t, spec.steps) / spec.steps;
      return spec.minLr + (spec.lr - spec.minLr) * (1 + Math.cos(Math.PI * c)) / 2;
    };
    case 'warmup': {
      const then = createSchedule(spec.then);
      const peak = then(0);
      return (t) => (t < spec.steps ? (peak * (t + 1)) / spec.steps : then(t - spec.steps));
    }
  }
}

/** The base learning rate the schedule starts from (after warm-up). */
export function peakLearningRate(spec: ScheduleSpec): number {
  return spec.type === 'warmup' ? peakLearningRate(spec.then) : spec.lr;
}

function validateSchedule(spec: ScheduleSpec): void {
  if (typeof spec !== 'object' || spec === null) {
    throw new ConfigError(`config.optimizer.schedule must be a schedule, e.g. { type: 'constant', lr: 0.05 } (types: constant, step, cosine, warmup), got ${JSON.stringify(spec)}`);
  }
  const positive = (v: number, what: string) => {
    if (!(Number.isFinite(v) && v > 0)) throw new ConfigError(`${what} must be a positive number, got ${v}`);
  };
  switch (spec.type) {
    case 'constant': positive(spec.lr, 'learning rate'); break;
    case 'step':
      positive(spec.lr, 'learning rate');
      if (!(Number.isInteger(spec.every) && spec.every > 0)) throw new ConfigError(`step schedule interval must be a positive integer, got ${spec.every}`);
      positive(spec.gamma, 'step schedule gamma');
      break;
    case 'cosine':
      positive(spec.lr, 'learning rate');
      if (!(Number.isInteger(spec.steps) && spec.steps > 0)) throw new ConfigError(`cosine schedule length must be a positive integer, got ${spec.steps}`);
      if (!(Number.isFinite(spec.minLr) && spec.minLr >= 0)) throw new ConfigError(`cosine minimum learning rate must be non-negative, got ${spec.minLr}`);
      break;
    case 'warmup':
      if (!(Number.isInteger(spec.steps) && spec.steps > 0)) throw new ConfigError(`warm-up length must be a positive integer, got ${spec.steps}`);
      break;
    default:
      throw new ConfigError(`unknown schedule '${(spec as { type: string }).type}' (known: constant, step, cosine, warmup)`);
  }
}
