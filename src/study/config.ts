/**
 * A study as data: a log grid of the regularization coefficient crossed with one scale axis
 * and several seeds, on any model `train` takes. Validated with zod (strict: an unknown or
 * misspelled key is an error naming it); presets cover each axis. Pure (no Node APIs).
 *
 * Second edition (docs/study.md): every seed also draws the training subset, the grid is
 * refined around each scale's minimum by later passes (refine.ts), and the optimum can be
 * taken on three metrics (metrics.ts).
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { METRICS } from './metrics.js';

export const AXES = ['width', 'depth', 'batch', 'data', 'lr', 'optimizer', 'norm', 'epochs', 'tpp'] as const;
export type Axis = (typeof AXES)[number];
/** Axes whose values are names, not numbers: no doubling to fit a movement to. */
export const CATEGORICAL_AXES: readonly Axis[] = ['optimizer', 'norm'];
export const NORMS = ['none', 'batchnorm', 'layernorm'] as const;
export type Norm = (typeof NORMS)[number];
export const STUDY_OPTIMIZERS = ['sgd', 'momentum', 'adam', 'adamw'] as const;

const positiveInt = z.number().int().positive();
const grid = z.strictObject({
  min: z.number().positive(),
  max: z.number().positive(),
  points: z.number().int().min(3).max(41),
}).refine((l) => l.max > l.min, { message: 'max must be larger than min' });
export type Grid = z.infer<typeof grid>;

const base = z.strictObject({
  /** An MLP by its hidden widths (the width axis then sets every hidden width to its value). */
  hidden: z.array(positiveInt).min(1).optional(),
  /**
   * Any network in `train --arch` grammar; the width axis multiplies every hidden dense
   * layer's units and every conv layer's filters by its value, and the depth axis repeats the
   * block marked with braces: `conv:16x3p1,relu,{conv:16x3p1,relu},pool:2,flatten,dense:10`.
   */
  arch: z.string().min(1).max(2000).optional(),
  optimizer: z.enum(STUDY_OPTIMIZERS),
  lr: z.number().positive(),
  /** Learning rate of Adam and AdamW trials on the optimizer axis. */
  adamLr: z.number().positive().default(1e-3),
  momentum: z.number().min(0).lt(1).default(0.9),
  batch: positiveInt,
  /** Training rows each trial draws from the pool (a seeded subset; ≤ the pool); 0 = all. */
  trainSize: z.number().int().nonnegative().default(0),
  /** Rows held out for validation, the same for every trial. */
  validation: positiveInt,
  /** Learning-rate schedule over the whole budget: constant, or cosine from lr to 0. */
  schedule: z.enum(['constant', 'cosine']).default('constant'),
  /**
   * On the batch axis, η follows B: 'linear' η = lr·B/batch (SGD's noise scale η/B held),
   * 'sqrt' η = lr·√(B/batch) (the Adam rule). 'none' holds η.
   */
  lrScaling: z.enum(['none', 'linear', 'sqrt']).default('none'),
  /**
   * muP-AdamW (microsoft/mup MuAdamW): hidden matrices get lr/m and decay ×m, with m = width /
   * baseWidth (hidden) or the width multiplier itself (arch).
   */
  mupBaseWidth: positiveInt.optional(),
}).refine((b) => (b.hidden === undefined) !== (b.arch === undefined), { message: 'give exactly one of hidden or arch' });

export const studySchema = z.strictObject({
  name: z.string().min(1).max(100),
  /** What varies; every other setting stays at `base`. */
  axis: z.enum(AXES),
  /**
   * The axis' values: widths (or width multipliers with `arch`), depths, batch sizes,
   * training-set sizes, learning rates, epochs, optimizer names, normalizations ('none',
   * 'batchnorm', 'layernorm'), or for `tpp` "WIDTHxROWS" pairs such as "256x12500".
   */
  values: z.array(z.union([z.number().positive(), z.string().min(1).max(100)])).min(1).max(64),
  /** The coarse grid of the seed objective's λ_E (coupled trials), log-spaced from min to max. */
  lambda: grid,
  /** The coarse grid of AdamW's decoupled c (δ_t = η_t·c per step), used by AdamW trials. */
  decay: grid.default({ min: 1e-3, max: 1, points: 7 }),
  /**
   * Later passes: points at these offsets (octaves) around each scale's coarse minimum, and up
   * to `extend` coarse steps added beyond a grid edge that holds the minimum. `[]` and 0: none.
   */
  refine: z.strictObject({
    octaves: z.array(z.number().refine((v) => v !== 0 && Math.abs(v) <= 4, 'must be non-zero and within ±4')).max(8).default([-1, -0.5, 0.5, 1]),
    extend: z.number().int().min(0).max(4).default(2),
  }).default({ octaves: [-1, -0.5, 0.5, 1], extend: 2 }),
  /** What "best" means for the refinement passes and the report's headline (metrics.ts). */
  metric: z.enum(METRICS).default('final-ce'),
  seeds: z.array(z.number().int().nonnegative().max(2 ** 31)).min(1).max(64),
  base,
  budget: z.strictObject({
    epochs: positiveInt.max(100000).optional(),
    /** Optimizer steps per trial, when given (instead of epochs): equal steps at every N. */
    steps: positiveInt.max(1e9).optional(),
  }).refine((b) => (b.epochs === undefined) !== (b.steps === undefined), { message: 'give exactly one of epochs or steps' }),
});
export type StudyConfig = z.infer<typeof studySchema>;
export type StudyBase = StudyConfig['base'];

/** What a study directory's study.json holds. First-edition files have no `edition` and no `classes`. */
export interface StudyFile {
  edition: 1 | 2;
  /** The data's name. */
  data: string;
  classes: number;
  configs: StudyConfig[];
}

export function parseStudyConfig(json: unknown, what: string): StudyConfig {
  const r = studySchema.safeParse(json);
  if (r.success) {
    validateAxisValues(r.data, what);
    return r.data;
  }
  const lines = r.error.issues.map((i) => `${what}: ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  throw new ConfigError(lines.join('\n'));
}

const TPP_VALUE = /^(\d+(?:\.\d+)?)x(\d+)$/;

/** A `tpp` axis value "WIDTHxROWS" as its two numbers. */
export function tppValue(v: number | string): { width: number; rows: number } {
  const m = TPP_VALUE.exec(String(v));
  if (!m) throw new ConfigError(`axis 'tpp' takes "WIDTHxROWS" values such as "256x12500", got ${JSON.stringify(v)}`);
  return { width: Number(m[1]), rows: Number(m[2]) };
}

function validateAxisValues(c: StudyConfig, what: string): void {
  const names: Partial<Record<Axis, readonly string[]>> = { optimizer: STUDY_OPTIMIZERS, norm: NORMS };
  const known = names[c.axis];
  const seen = new Map<string, number>();
  c.values.forEach((v, i) => {
    const at = `${what}: values.${i}`;
    if (c.axis === 'tpp') {
      try { tppValue(v); } catch (e) { throw new ConfigError(`${at}: ${(e as Error).message}`); }
    } else if (known ? !(typeof v === 'string' && known.includes(v)) : typeof v === 'string') {
      throw new ConfigError(`${at}: axis '${c.axis}' takes ${known ? `one of ${known.join(', ')}` : 'numbers'}, got ${JSON.stringify(v)}`);
    }
    const integerAxes: Axis[] = c.base.arch !== undefined ? ['depth', 'batch', 'data', 'epochs'] : ['width', 'depth', 'batch', 'data', 'epochs'];
    if (integerAxes.includes(c.axis) && !Number.isInteger(v)) throw new ConfigError(`${at}: axis '${c.axis}' takes integers, got ${v}`);
    const key = String(v);
    if (seen.has(key)) throw new ConfigError(`${at}: ${JSON.stringify(v)} repeats values.${seen.get(key)}`);
    seen.set(key, i);
  });
  const seeds = new Map<number, number>();
  c.seeds.forEach((s, i) => {
    if (seeds.has(s)) throw new ConfigError(`${what}: seeds.${i}: seed ${s} repeats seeds.${seeds.get(s)}`);
    seeds.set(s, i);
  });
  for (const key of ['lambda', 'decay'] as const) {
    const g = logGrid(c[key]);
    if (new Set(g).size !== g.length) throw new ConfigError(`${what}: ${key}: ${c[key].points} points from ${c[key].min} to ${c[key].max} repeat after rounding to 6 digits; use fewer points`);
  }
  if (c.base.mupBaseWidth !== undefined && c.base.optimizer !== 'adamw') throw new ConfigError(`${what}: base.mupBaseWidth: muP here is MuAdamW; it needs base.optimizer "adamw"`);
  if (c.base.lrScaling !== 'none' && c.axis !== 'batch') throw new ConfigError(`${what}: base.lrScaling applies to the batch axis, not '${c.axis}'`);
  if (c.axis === 'depth' && c.base.arch !== undefined && !/\{[^{}]+\}/.test(c.base.arch)) {
    throw new ConfigError(`${what}: base.arch: the depth axis repeats a block marked with braces, e.g. "conv:16x3p1,relu,{conv:16x3p1,relu},flatten,dense:10"`);
  }
}

/** `points` values log-spaced from min to max (6 significant digits, so ids are stable). */
export function logGrid({ min, max, points }: Grid): number[] {
  const lo = Math.log10(min), hi = Math.log10(max);
  return Array.from({ length: points }, (_, i) => round6(Math.pow(10, lo + ((hi - lo) * i) / (points - 1))));
}

export const round6 = (v: number) => Number(v.toPrecision(6));
