/**
 * A study as data: a log grid of the regularization coefficient crossed with one scale axis
 * and several seeds. Validated with zod so a bad config names the bad field; presets cover
 * each axis. Pure (no Node APIs).
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';

export const AXES = ['width', 'depth', 'batch', 'data', 'lr', 'optimizer', 'norm'] as const;
/** Axes whose values are names, not numbers: no doubling to fit a movement to. */
export const CATEGORICAL_AXES: readonly Axis[] = ['optimizer', 'norm'];
export const NORMS = ['none', 'batchnorm', 'layernorm'] as const;
export type Norm = (typeof NORMS)[number];
export type Axis = (typeof AXES)[number];

const positiveInt = z.number().int().positive();
const grid = z.object({
  min: z.number().positive(),
  max: z.number().positive(),
  points: z.number().int().min(3).max(41),
}).refine((l) => l.max > l.min, { message: 'max must be larger than min' });
export type Grid = z.infer<typeof grid>;

export const studySchema = z.object({
  name: z.string().min(1).max(100),
  /** What varies; every other setting stays at `base`. */
  axis: z.enum(AXES),
  /**
   * The axis' values: widths, depths, batch sizes, training-set sizes, learning rates,
   * optimizer names, or normalization after each hidden dense layer ('none', 'batchnorm', 'layernorm').
   */
  values: z.array(z.union([z.number().positive(), z.string()])).min(1),
  /** The grid of the seed objective's λ_E (coupled), log-spaced from min to max. */
  lambda: grid,
  /** The grid of AdamW's decoupled c (δ = η·c per step), used by AdamW trials. */
  decay: grid.default({ min: 1e-3, max: 1, points: 7 }),
  seeds: z.array(z.number().int().nonnegative()).min(1),
  base: z.object({
    hidden: z.array(positiveInt).min(1),
    optimizer: z.enum(['sgd', 'momentum', 'adam', 'adamw']),
    lr: z.number().positive(),
    /** Learning rate of Adam and AdamW trials (the optimizer axis). */
    adamLr: z.number().positive().default(1e-3),
    momentum: z.number().min(0).lt(1).default(0.9),
    batch: positiveInt,
    /** Training rows used (≤ what the data has after the validation split); 0 = all. */
    trainSize: z.number().int().nonnegative().default(0),
    /** Rows held out for validation, taken before any trainSize subset. */
    validation: positiveInt,
  }),
  budget: z.object({
    epochs: positiveInt.optional(),
    /** Optimizer steps per trial, when given (instead of epochs): equal compute across batch sizes. */
    steps: positiveInt.optional(),
  }).refine((b) => (b.epochs === undefined) !== (b.steps === undefined), { message: 'give exactly one of epochs or steps' }),
});
export type StudyConfig = z.infer<typeof studySchema>;

export function parseStudyConfig(json: unknown, what: string): StudyConfig {
  const r = studySchema.safeParse(json);
  if (r.success) {
    validateAxisValues(r.data, what);
    return r.data;
  }
  const lines = r.error.issues.map((i) => `${what}: ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  throw new ConfigError(lines.join('\n'));
}

function validateAxisValues(c: StudyConfig, what: string): void {
  const names: Partial<Record<Axis, readonly string[]>> = { optimizer: ['sgd', 'momentum', 'adam', 'adamw'], norm: NORMS };
  const known = names[c.axis];
  c.values.forEach((v, i) => {
    if (known ? !(typeof v === 'string' && known.includes(v)) : typeof v === 'string') {
      throw new ConfigError(`${what}: values.${i}: axis '${c.axis}' takes ${known ? `one of ${known.join(', ')}` : 'numbers'}, got ${JSON.stringify(v)}`);
    }
    if (['width', 'depth', 'batch', 'data'].includes(c.axis) && !Number.isInteger(v)) {
      throw new ConfigError(`${what}: values.${i}: axis '${c.axis}' takes integers, got ${v}`);
    }
  });
}

/** `points` values log-spaced from min to max (6 significant digits, so ids are stable). */
export function logGrid({ min, max, points }: Grid): number[] {
  const lo = Math.log10(min), hi = Math.log10(max);
  return Array.from({ length: points }, (_, i) => Number(Math.pow(10, lo + ((hi - lo) * i) / (points - 1)).toPrecision(6)));
}

const EMBEDDED_BASE = { hidden: [64], optimizer: 'momentum' as const, lr: 0.05, adamLr: 1e-3, momentum: 0.9, batch: 64, trainSize: 0, validation: 500 };
const FULL_BASE = { hidden: [256, 256], optimizer: 'momentum' as const, lr: 0.05, adamLr: 1e-3, momentum: 0.9, batch: 128, trainSize: 0, validation: 10000 };
/**
 * The full-data regime where λ matters. On all 50 000 training images a 256-256 MLP barely
 * overfits in 10 epochs: the validation CE is flat from λ_E = 1e-6 to 1e-4 and the optimum
 * cannot be pinned (the README's first width run shows it). On 7 500 of them for 40 epochs
 * the final validation CE falls from 0.56 (λ_E = 1e-5) to 0.45 (1e-3): the penalty decides.
 */
const OVERFIT_BASE = { ...FULL_BASE, trainSize: 7500 };
const OVERFIT_EPOCHS = 40;
/**
 * The data axis holds the step count instead (≈ 40 epochs of 7 500 at B = 128): with epochs
 * held, the small sets would get a handful of steps and stop long before they overfit.
 */
const DATA_STEPS = 2400;

/** What the presets share within one regime: the base run, grids, budget and axis values. */
interface Regime {
  base: StudyConfig['base'];
  seeds: number[];
  lambda: Grid;
  decay: Grid;
  budget: StudyConfig['budget'];
  widths: number[];
  batches: number[];
  sizes: number[];
  /** The data axis' own settings (the full regime holds steps there, see DATA_STEPS). */
  data: Partial<StudyConfig>;
}

const EMBEDDED: Regime = {
  base: EMBEDDED_BASE, seeds: [1, 2],
  lambda: { min: 1e-5, max: 1e-2, points: 7 }, decay: { min: 3e-3, max: 3, points: 7 },
  // On the 3500-image sample a few epochs barely overfit; 15 make λ matter and keep the
  // default study near 5 minutes on the reference backend.
  budget: { epochs: 15 },
  widths: [16, 32, 64, 128], batches: [16, 32, 64, 128], sizes: [450, 900, 1800, 3500], data: {},
};

const FULL: Regime = {
  base: OVERFIT_BASE, seeds: [1, 2, 3],
  lambda: { min: 1e-5, max: 1e-1, points: 9 }, decay: { min: 1e-3, max: 10, points: 9 },
  budget: { epochs: OVERFIT_EPOCHS },
  widths: [64, 128, 256, 512, 1024], batches: [32, 64, 128, 256, 512], sizes: [3750, 7500, 15000, 30000, 50000],
  data: { lambda: { min: 1e-6, max: 1e-1, points: 11 }, budget: { steps: DATA_STEPS } },
};

/**
 * Presets. `default` runs in minutes on the embedded sample with the reference backend; the
 * axis presets are sized for the full Fashion-MNIST on a fast backend. `adamw-batch` and
 * `adamw-data` sweep AdamW's decoupled c along B and N, to test the timescale B/(N·η·c).
 */
export function preset(name: string, full: boolean): StudyConfig[] {
  const r = full ? FULL : EMBEDDED;
  const make = (axis: Axis, values: StudyConfig['values'], extra: Partial<StudyConfig> = {}): StudyConfig => ({
    name: `${axis}`, axis, values, seeds: r.seeds, base: r.base, lambda: r.lambda, decay: r.decay, budget: r.budget, ...extra,
  });
  const adamw = { ...r.base, optimizer: 'adamw' as const, lr: r.base.adamLr };
  const presets: Record<string, () => StudyConfig[]> = {
    default: () => [make('width', r.widths.slice(0, 4))],
    width: () => [make('width', r.widths)],
    depth: () => [make('depth', [1, 2, 3, 4])],
    batch: () => [make('batch', r.batches)],
    data: () => [make('data', r.sizes, r.data)],
    lr: () => [make('lr', [0.0125, 0.025, 0.05, 0.1])],
    optimizer: () => [make('optimizer', ['sgd', 'momentum', 'adam', 'adamw'])],
    // With BN after a layer its weights' scale no longer matters to the loss: λ acts on the
    // effective learning rate instead of capacity, so the optimum should move.
    norm: () => [make('norm', ['none', 'batchnorm', 'layernorm'])],
    'adamw-batch': () => [make('batch', r.batches, { name: 'adamw-batch', base: adamw })],
    // AdamW sweeps `decay`, so of the data axis' settings only the budget applies.
    'adamw-data': () => [make('data', r.sizes, { name: 'adamw-data', base: adamw, ...(r.data.budget ? { budget: r.data.budget } : {}) })],
  };
  if (name === 'all') return Object.keys(presets).filter((k) => k !== 'default').flatMap((k) => presets[k]());
  const p = presets[name];
  if (!p) throw new ConfigError(`unknown preset '${name}' (known: ${[...Object.keys(presets), 'all'].join(', ')})`);
  return p();
}
