/**
 * From trial results to answers (docs/study.md "Analysis"). Pure, deterministic.
 *
 * 1. Per scale value: the seed-mean metric against log2 of the coefficient; its optimum
 *    located by optimum.ts, with a bootstrap over seeds. Flagged optima (edge, outside the
 *    fitted points) are shown but kept out of the slope.
 * 2. Per convention: the optimum in that convention at each scale (B, N, η, P read from the
 *    trials there) and its movement, the least-squares slope of log2(coefficient) on log2(scale)
 *    in octaves per doubling. Its uncertainty is a bootstrap of the whole pipeline (seeds
 *    resampled independently at each scale, every optimum refitted, the slope refitted),
 *    inflated by √(χ²/dof) when the line fits the optima worse than their own errors allow.
 *    The 95% interval uses Student's t with (seeds − 1) degrees of freedom: a bootstrap over
 *    six seeds understates the spread, and the coverage test holds it to ≥ 90% at nominal 95%.
 * 3. A verdict that is a test: "transfers" when the whole interval lies within ±0.25 octaves
 *    per doubling, "moves" when it excludes 0, otherwise "undecided".
 */
import { CONVENTIONS, type Convention, type ConventionContext } from '../regularization/conventions.js';
import { CATEGORICAL_AXES } from './config.js';
import { metricOf, type Metric } from './metrics.js';
import { BOOTSTRAP, fitScale, type OptimumFlag } from './optimum.js';
import type { TrialResult } from './run-trial.js';
import { fitLine, mean, sd, t975 } from './stats.js';
import type { Trial } from './trials.js';

/** A movement within ±this (octaves per doubling, the whole 95% interval) transfers. */
export const TRANSFER_BAND = 0.25;

export interface CurvePoint {
  coefficient: number;
  /** The study's metric: seed mean and per seed (+∞ for a diverged run). */
  mean: number;
  perSeed: number[];
  /** Seed means of every metric and of the penalty's state, for tables and plots. */
  meanFinalCe: number;
  meanBestCe: number;
  meanFinalError: number;
  meanPenaltyShare: number;
  meanWeightNormSq: number;
}

export interface ScaleOptimum {
  /** The axis value. */
  value: number | string;
  /** Where the scale sits on the fit's x axis (log2 of the value; log2 of samples per parameter for tpp); null on a categorical axis. */
  x: number | null;
  kind: Trial['kind'];
  curve: CurvePoint[];
  /** Coefficient at the located minimum (canonical unit of `kind`). */
  optimum: number;
  /** Standard error of log2(optimum). */
  seLog2: number;
  /** Why the optimum is not used in the slope, or null when it is. */
  flag: OptimumFlag | null;
  /** Located by a parabola through the points near the minimum, or at the grid minimum (flat curve). */
  by: 'parabola' | 'grid';
  /** The metric there (fitted, or the grid value). */
  metricAtOptimum: number;
  /** Penalty share of the training loss and Σw² at the point nearest the optimum. */
  penaltyShare: number;
  weightNormSq: number;
  /** Seeds at this scale. */
  seeds: number;
  /** Context a convention reads at this scale (B, N, η, μ, P, T, m). */
  context: ConventionContext;
  /** log2(optimum) per bootstrap replicate. */
  replicates: number[];
}

export type Verdict = 'transfers' | 'moves' | 'undecided';

export interface Movement {
  convention: string;
  param: string;
  /** Octaves (log2 units) the convention's optimum moves per doubling of the scale; NaN when fewer than two optima are located. */
  slope: number;
  /** Standard error: the pipeline bootstrap's, times `inflation`. */
  se: number;
  /** 95% interval of the slope. */
  ci: [number, number];
  verdict: Verdict;
  /** Lack of fit: χ² of the optima about the line with their own errors, its degrees of freedom, and √(max(1, χ²/dof)). */
  chi2: number;
  dof: number;
  inflation: number;
  /** Movement across the axis' range (slope × range of x), in octaves. */
  total: number;
  /**
   * The canonical optimum's slope that holding this convention's coefficient fixed predicts
   * (0 for λ_E itself; −1 along N for bengio:c; −log2 of P's growth for per-weight:c).
   */
  ruleSlope: number;
  /** The optimum in this convention at each scale value. */
  values: { value: number | string; coefficient: number }[];
}

export interface AxisAnalysis {
  study: string;
  axis: Trial['axis'];
  metric: Metric;
  optima: ScaleOptimum[];
  /** Per convention of the optima's kind; empty on a categorical axis. */
  movements: Movement[];
  /** The coarse grid's step in octaves. */
  gridStep: number;
  /** What the fit's x is: 'log2 width', 'log2 samples per parameter', … */
  xLabel: string;
  /** Degrees of freedom behind the 95% intervals (fewest seeds at a scale − 1). */
  df: number;
  /** Per scale: does L2 change the error rate, or only calibration; and what early stopping alone gets. */
  calibration: CalibrationRow[];
  /** Scale values with trials but too few finished points for a curve yet (a study still running). */
  pending: (number | string)[];
}

export interface CalibrationRow {
  value: number | string;
  /** Final validation error: at the grid point nearest the optimum, at the smallest coefficient, and their paired difference (optimum − smallest) ± se. */
  errorAtOptimum: number;
  errorAtSmallest: number;
  errorDiff: number;
  errorDiffSe: number;
  /** Final validation CE at the optimum point, and the best-epoch CE at the smallest coefficient (early stopping without L2), paired difference ± se. */
  ceAtOptimum: number;
  earlyStopCe: number;
  earlyStopDiff: number;
  earlyStopDiffSe: number;
}

export interface AnalyzeOptions {
  /** The metric per study (its config's), else `metric`, else final-ce. */
  metricFor?: (study: string) => Metric | undefined;
  metric?: Metric;
}

/** A curve needs this many coefficients finished by every seed before its minimum means anything. */
export const MIN_CURVE_POINTS = 3;

/** Every study with at least one scale value that has a curve; a study still too young to have one is left out. */
export function analyze(results: readonly TrialResult[], options: AnalyzeOptions = {}): AxisAnalysis[] {
  const byStudy = groupBy(results, (r) => r.trial.study);
  return [...byStudy.entries()].flatMap(([study, rs]) =>
    analyzeStudy(study, rs, options.metric ?? options.metricFor?.(study) ?? 'final-ce') ?? []);
}

/** null when no scale value has a curve yet. */
export function analyzeStudy(study: string, results: readonly TrialResult[], metric: Metric): AxisAnalysis | null {
  const axis = results[0].trial.axis;
  const categorical = CATEGORICAL_AXES.includes(axis);
  const byValue = groupBy(results, (r) => String(r.trial.value));
  const ready = [...byValue.entries()].filter(([, rs]) => completeCoefficients(rs).length >= MIN_CURVE_POINTS);
  const pending = [...byValue.keys()].filter((v) => !ready.some(([k]) => k === v)).map((v) => byValue.get(v)![0].trial.value);
  if (ready.length === 0) return null;
  const optima = ready.map(([, rs], i) => optimumAt(rs, metric, categorical, 1000 + i)).sort(compareValues);
  const coarse = [...new Set(results.map((r) => r.trial.coefficient))].sort((a, b) => a - b);
  const gridStep = coarse.length > 1 ? Math.max(...coarse.slice(1).map((c, i) => Math.log2(c / coarse[i]))) : 1;
  const df = Math.min(...optima.map((o) => o.seeds)) - 1;
  const numeric = !categorical && optima.length >= 2 && optima.every((o) => o.kind === optima[0].kind);
  const mup = results.some((r) => r.trial.mupWidthMult !== undefined);
  const movements = numeric ? conventionsFor(optima[0].kind, mup).map((c) => movementOf(c, optima, df)) : [];
  return {
    study, axis, metric, optima, movements, gridStep, df,
    xLabel: axis === 'tpp' ? 'log2 samples per parameter' : `log2 ${axis}`,
    calibration: optima.map((o) => calibrationAt(o, byValue.get(String(o.value))!)),
    pending,
  };
}

function compareValues(a: ScaleOptimum, b: ScaleOptimum): number {
  if (a.x !== null && b.x !== null) return a.x - b.x;
  return typeof a.value === 'number' && typeof b.value === 'number' ? a.value - b.value : 0;
}

/** Trials at one scale as a grid: coefficients ascending × seeds. */
function gridOf(results: readonly TrialResult[]): { coefficients: number[]; seeds: number[]; cell: (c: number, s: number) => TrialResult | undefined } {
  const seeds = [...new Set(results.map((r) => r.trial.seed))].sort((a, b) => a - b);
  const coefficients = [...new Set(results.map((r) => r.trial.coefficient))].sort((a, b) => a - b);
  const index = new Map(results.map((r) => [`${r.trial.coefficient}|${r.trial.seed}`, r]));
  return { coefficients, seeds, cell: (c, s) => index.get(`${c}|${s}`) };
}

/** The coefficients every seed at this scale has finished: only they enter the curve (a study still running has gaps). */
function completeCoefficients(results: readonly TrialResult[]): number[] {
  const { coefficients, seeds, cell } = gridOf(results);
  return coefficients.filter((c) => seeds.every((s) => cell(c, s)));
}

/** The optimum of one scale value's curve, with its bootstrap replicates. */
function optimumAt(results: readonly TrialResult[], metric: Metric, categorical: boolean, rngSeed: number): ScaleOptimum {
  const t = results[0].trial;
  const { seeds, cell } = gridOf(results);
  const complete = completeCoefficients(results);
  const values = (c: number, m: Metric) => seeds.map((s) => metricOf(cell(c, s)!, m));
  const perSeed = complete.map((c) => values(c, metric));
  const fit = fitScale(complete.map(Math.log2), perSeed, rngSeed);
  const finite = (v: number[]) => mean(v.filter(Number.isFinite));
  const curve: CurvePoint[] = complete.map((c, i) => {
    const rs = seeds.map((s) => cell(c, s)!).filter((r) => !r.diverged);
    return {
      coefficient: c, mean: mean(perSeed[i]), perSeed: perSeed[i],
      meanFinalCe: finite(values(c, 'final-ce')), meanBestCe: finite(values(c, 'best-ce')), meanFinalError: finite(values(c, 'final-error')),
      meanPenaltyShare: mean(rs.map((r) => (r.penalty ?? 0) / ((r.penalty ?? 0) + (r.train_loss ?? NaN)))),
      meanWeightNormSq: mean(rs.map((r) => r.weight_norm_sq ?? NaN)),
    };
  });
  const nearest = curve.reduce((a, p) => (Math.abs(Math.log2(p.coefficient) - fit.located.x) < Math.abs(Math.log2(a.coefficient) - fit.located.x) ? p : a));
  const context = contextOf(t, results);
  return {
    value: t.value, x: categorical ? null : scaleX(t, results, context), kind: t.kind, curve,
    optimum: Math.pow(2, fit.located.x), seLog2: fit.seLog2, flag: fit.located.flag, by: fit.located.by,
    metricAtOptimum: fit.located.y, penaltyShare: nearest.meanPenaltyShare, weightNormSq: nearest.meanWeightNormSq,
    seeds: seeds.length, context, replicates: fit.replicates,
  };
}

/** log2 of the axis value; for tpp, log2 of samples processed per decayed parameter (Bergsma et al.'s TPP). */
function scaleX(t: Trial, results: readonly TrialResult[], ctx: ConventionContext): number {
  if (t.axis === 'tpp') return Math.log2(mean(results.map((r) => r.steps * r.trial.batch)) / (ctx.params ?? NaN));
  return Math.log2(Number(t.value));
}

/** What conventions read at a scale: B, N, η, μ, P (the decayed parameters), T and m. */
function contextOf(t: Trial, results: readonly TrialResult[]): ConventionContext {
  return {
    batch: t.batch, n: results[0].train_count, lr: t.lr, momentum: t.optimizer === 'momentum' ? t.momentum : 0,
    params: results[0].decayed_params ?? NaN,
    epochs: t.epochs ?? Math.max(...results.map((r) => r.epochs)),
    widthMult: t.mupWidthMult ?? 1,
  };
}

/** The conventions an optimum of this kind can be expressed in without crossing kinds (muP's only in a muP study). */
function conventionsFor(kind: Trial['kind'], mup: boolean): Convention[] {
  return CONVENTIONS.filter((c) => c.kind === kind && (c.per !== 'mup' || mup));
}

const fullContext = (ctx: ConventionContext): Required<ConventionContext> =>
  ({ lr: NaN, batch: NaN, n: NaN, params: NaN, epochs: NaN, widthMult: 1, momentum: 0, ...ctx });

function movementOf(conv: Convention, optima: readonly ScaleOptimum[], df: number): Movement {
  const inConv = (o: ScaleOptimum, log2Canonical: number) => Math.log2(conv.fromCanonical(Math.pow(2, log2Canonical), fullContext(o.context)));
  const values = optima.map((o) => ({ value: o.value, coefficient: conv.fromCanonical(o.optimum, fullContext(o.context)) }));
  const used = optima.filter((o) => o.flag === null && o.x !== null);
  const xs = used.map((o) => o.x!);
  const direction = Math.sign(inConv(used[0] ?? optima[0], 1) - inConv(used[0] ?? optima[0], 0)) || 1;
  const offsets = fitLine(xs, used.map((o) => inConv(o, 0)));
  const ruleSlope = offsets ? -direction * offsets.slope + 0 : NaN; // + 0: no −0 in the output
  const line = fitLine(xs, used.map((o) => inConv(o, Math.log2(o.optimum))));
  const none: Movement = {
    convention: conv.id, param: conv.param, slope: NaN, se: NaN, ci: [NaN, NaN], verdict: 'undecided',
    chi2: NaN, dof: 0, inflation: 1, total: NaN, ruleSlope, values,
  };
  if (!line || used.length < 2) return none;
  const slopes: number[] = [];
  for (let b = 0; b < BOOTSTRAP; b++) {
    const rep = fitLine(xs, used.map((o) => inConv(o, o.replicates[b])));
    if (rep) slopes.push(rep.slope);
  }
  const dof = used.length - 2;
  const chi2 = used.reduce((a, o, i) => a + ((inConv(o, Math.log2(o.optimum)) - (line.intercept + line.slope * xs[i])) / o.seLog2) ** 2, 0);
  const inflation = dof > 0 && Number.isFinite(chi2) ? Math.sqrt(Math.max(1, chi2 / dof)) : 1;
  const se = sd(slopes) * inflation;
  const q = t975(df);
  const ci: [number, number] = [line.slope - q * se, line.slope + q * se];
  return {
    ...none, slope: line.slope, se, ci, verdict: verdictOf(ci), chi2, dof, inflation,
    total: line.slope * (Math.max(...xs) - Math.min(...xs)),
  };
}

/** The test: inside the band → transfers; excluding 0 → moves; otherwise undecided. */
export function verdictOf([lo, hi]: readonly [number, number]): Verdict {
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) return 'undecided';
  if (lo >= -TRANSFER_BAND && hi <= TRANSFER_BAND) return 'transfers';
  if (lo > 0 || hi < 0) return 'moves';
  return 'undecided';
}

function calibrationAt(o: ScaleOptimum, results: readonly TrialResult[]): CalibrationRow {
  const { coefficients, seeds, cell } = gridOf(results);
  const complete = coefficients.filter((c) => seeds.every((s) => cell(c, s)));
  const near = complete.reduce((a, c) => (Math.abs(Math.log2(c / o.optimum)) < Math.abs(Math.log2(a / o.optimum)) ? c : a));
  const smallest = complete[0];
  const paired = (a: number, ma: Metric, b: number, mb: Metric) => {
    const d = seeds.map((s) => metricOf(cell(a, s)!, ma) - metricOf(cell(b, s)!, mb)).filter(Number.isFinite);
    return { diff: mean(d), se: sd(d) / Math.sqrt(d.length) };
  };
  const avg = (c: number, m: Metric) => mean(seeds.map((s) => metricOf(cell(c, s)!, m)));
  const err = paired(near, 'final-error', smallest, 'final-error');
  const es = paired(near, 'final-ce', smallest, 'best-ce');
  return {
    value: o.value,
    errorAtOptimum: avg(near, 'final-error'), errorAtSmallest: avg(smallest, 'final-error'), errorDiff: err.diff, errorDiffSe: err.se,
    ceAtOptimum: avg(near, 'final-ce'), earlyStopCe: avg(smallest, 'best-ce'), earlyStopDiff: es.diff, earlyStopDiffSe: es.se,
  };
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    if (!m.has(k)) m.set(k, []);
    m.get(k)!.push(it);
  }
  return m;
}
