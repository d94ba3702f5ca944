/**
 * From trial results to answers. For each scale value: the seed-mean validation cross-entropy
 * against log2 of the coefficient, the optimum from a parabola fitted around the grid minimum
 * (not only the grid point), and its uncertainty from a bootstrap over seeds. Then the optimum
 * in every convention at that scale, and how far it moves per doubling of the scale (octaves
 * per doubling, with error bars): a convention "transfers" when its optimum moves less than
 * its uncertainty or the grid step. Pure, deterministic (seeded bootstrap).
 */
import { CONVENTIONS, type Convention, type ConventionContext } from '../regularization/conventions.js';
import { Rng } from '../tensor/rng.js';
import type { TrialResult } from './run-trial.js';
import type { Trial } from './trials.js';
import { CATEGORICAL_AXES } from './config.js';

export interface CurvePoint {
  coefficient: number;
  /** Mean over seeds of the final validation CE (diverged runs count as +∞). */
  meanValCe: number;
  meanValAccuracy: number;
  perSeed: number[];
  meanPenaltyShare: number;
  meanWeightNormSq: number;
}

export interface ScaleOptimum {
  /** The axis value. */
  value: number | string;
  kind: Trial['kind'];
  curve: CurvePoint[];
  /** Coefficient at the fitted minimum (canonical unit of `kind`). */
  optimum: number;
  /** Bootstrap standard error of log2(optimum), at least a tenth of the grid step. */
  seLog2: number;
  /** The grid minimum sits at the grid's edge: the true optimum may lie outside. */
  atEdge: boolean;
  /** Fitted validation CE at the optimum. */
  valCe: number;
  /** Penalty share of the training loss and Σw² at the grid point nearest the optimum. */
  penaltyShare: number;
  weightNormSq: number;
  /** Context a convention reads at this scale (B, N, η, μ, P). */
  context: ConventionContext;
}

export interface Movement {
  convention: string;
  param: string;
  /** Octaves (log2 units) the convention's optimum moves per doubling of the scale. */
  slope: number;
  se: number;
  /** Total movement across the axis' range, in octaves. */
  total: number;
  transfers: boolean;
  /** The optimum in this convention at each scale value. */
  values: { value: number | string; coefficient: number }[];
}

export interface AxisAnalysis {
  study: string;
  axis: Trial['axis'];
  optima: ScaleOptimum[];
  /** Per convention; empty for a categorical axis (optimizer). */
  movements: Movement[];
  /** Grid step in octaves. */
  gridStep: number;
}

const BOOTSTRAP = 200;

export function analyze(results: readonly TrialResult[]): AxisAnalysis[] {
  const byStudy = groupBy(results, (r) => r.trial.study);
  return [...byStudy.entries()].map(([study, rs]) => analyzeStudy(study, rs));
}

function analyzeStudy(study: string, results: readonly TrialResult[]): AxisAnalysis {
  const axis = results[0].trial.axis;
  const byValue = groupBy(results, (r) => String(r.trial.value));
  const optima = [...byValue.values()].map((rs) => optimumAt(rs)).sort(compareValues);
  const coefficients = [...new Set(results.map((r) => r.trial.coefficient))].sort((a, b) => a - b);
  const gridStep = coefficients.length > 1 ? Math.log2(coefficients[1] / coefficients[0]) : 1;
  const numeric = !CATEGORICAL_AXES.includes(axis) && optima.length >= 2 && optima.every((o) => o.kind === optima[0].kind);
  const movements = numeric ? conventionsFor(optima[0].kind).map((c) => movementOf(c, optima, gridStep)) : [];
  return { study, axis, optima, movements, gridStep };
}

function compareValues(a: ScaleOptimum, b: ScaleOptimum): number {
  return typeof a.value === 'number' && typeof b.value === 'number' ? a.value - b.value : String(a.value).localeCompare(String(b.value));
}

/** The optimum of one scale value's λ curve, with its bootstrap uncertainty. */
function optimumAt(results: readonly TrialResult[]): ScaleOptimum {
  const t = results[0].trial;
  const seeds = [...new Set(results.map((r) => r.trial.seed))].sort((a, b) => a - b);
  const coefficients = [...new Set(results.map((r) => r.trial.coefficient))].sort((a, b) => a - b);
  // ce[i][s]: final validation CE at coefficient i, seed s.
  const cell = (c: number, s: number) => results.find((r) => r.trial.coefficient === c && r.trial.seed === s);
  const ce = coefficients.map((c) => seeds.map((s) => {
    const r = cell(c, s);
    return r && !r.diverged && r.final_val_ce !== null ? r.final_val_ce : Infinity;
  }));
  const x = coefficients.map(Math.log2);
  const fit = fitMinimum(x, ce.map(mean));
  const rng = new Rng(12345);
  const boot: number[] = [];
  for (let b = 0; b < BOOTSTRAP; b++) {
    const pick = seeds.map(() => rng.int(seeds.length));
    boot.push(fitMinimum(x, ce.map((row) => mean(pick.map((k) => row[k])))).x);
  }
  const gridStep = x.length > 1 ? x[1] - x[0] : 1;
  const curve: CurvePoint[] = coefficients.map((c, i) => {
    const rs = seeds.map((s) => cell(c, s)).filter((r): r is TrialResult => !!r && !r.diverged);
    return {
      coefficient: c, meanValCe: mean(ce[i]), perSeed: ce[i],
      meanValAccuracy: mean(rs.map((r) => r.final_val_accuracy ?? NaN)),
      meanPenaltyShare: mean(rs.map((r) => (r.penalty ?? 0) / ((r.penalty ?? 0) + (r.train_loss ?? NaN)))),
      meanWeightNormSq: mean(rs.map((r) => r.weight_norm_sq ?? NaN)),
    };
  });
  const nearest = curve.reduce((a, p) => (Math.abs(Math.log2(p.coefficient) - fit.x) < Math.abs(Math.log2(a.coefficient) - fit.x) ? p : a));
  return {
    value: t.value, kind: t.kind, curve,
    optimum: Math.pow(2, fit.x), seLog2: Math.max(std(boot), gridStep / 10), atEdge: fit.atEdge, valCe: fit.y,
    penaltyShare: nearest.meanPenaltyShare, weightNormSq: nearest.meanWeightNormSq,
    context: contextOf(t, results),
  };
}

/**
 * The minimum of y(x) on a grid: a least-squares parabola through the grid minimum and its
 * neighbours (up to two each side), its vertex kept within one grid step of the grid minimum.
 * At the grid's edge, or when the parabola opens downward, the grid point itself.
 */
export function fitMinimum(x: readonly number[], y: readonly number[]): { x: number; y: number; atEdge: boolean } {
  let k = 0;
  for (let i = 1; i < y.length; i++) if (y[i] < y[k]) k = i;
  const atEdge = k === 0 || k === y.length - 1;
  if (atEdge || !Number.isFinite(y[k - 1]) || !Number.isFinite(y[k + 1])) return { x: x[k], y: y[k], atEdge };
  const idx = [k - 2, k - 1, k, k + 1, k + 2].filter((i) => i >= 0 && i < y.length && Number.isFinite(y[i]));
  const [a, b, c] = quadraticFit(idx.map((i) => x[i] - x[k]), idx.map((i) => y[i]));
  if (!(a > 0)) return { x: x[k], y: y[k], atEdge };
  const step = Math.min(x[k] - x[k - 1], x[k + 1] - x[k]);
  const v = Math.max(-step, Math.min(step, -b / (2 * a)));
  return { x: x[k] + v, y: a * v * v + b * v + c, atEdge };
}

/** Least-squares y ≈ a·x² + b·x + c (normal equations, 3×3, solved by Cramer's rule). */
function quadraticFit(x: readonly number[], y: readonly number[]): [number, number, number] {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, t0 = 0, t1 = 0, t2 = 0;
  x.forEach((xi, i) => {
    const x2 = xi * xi;
    s0 += 1; s1 += xi; s2 += x2; s3 += x2 * xi; s4 += x2 * x2;
    t0 += y[i]; t1 += xi * y[i]; t2 += x2 * y[i];
  });
  const det = (m: number[][]) => m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  const M = [[s4, s3, s2], [s3, s2, s1], [s2, s1, s0]];
  const D = det(M);
  const col = (j: number, v: number[]) => M.map((row, r) => row.map((e, c) => (c === j ? v[r] : e)));
  const rhs = [t2, t1, t0];
  return [det(col(0, rhs)) / D, det(col(1, rhs)) / D, det(col(2, rhs)) / D];
}

/** What conventions read at a scale: B, N, η, μ and P (decayed weights of the MLP). */
function contextOf(t: Trial, results: readonly TrialResult[]): ConventionContext {
  const widths = [784, ...t.hidden, 10];
  let params = 0;
  for (let i = 1; i < widths.length; i++) params += widths[i - 1] * widths[i];
  return {
    batch: t.batch, n: results[0].train_count, lr: t.lr, momentum: t.optimizer === 'momentum' ? t.momentum : 0, params,
    epochs: t.epochs ?? Math.max(...results.map((r) => r.epochs)),
  };
}

/** The conventions an optimum of this kind can be expressed in without crossing kinds. */
function conventionsFor(kind: Trial['kind']): Convention[] {
  return CONVENTIONS.filter((c) => c.kind === kind && c.per !== 'mup');
}

function movementOf(conv: Convention, optima: readonly ScaleOptimum[], gridStep: number): Movement {
  const values = optima.map((o) => {
    const ctx = { lr: NaN, batch: NaN, n: NaN, params: NaN, epochs: NaN, widthMult: NaN, momentum: 0, ...o.context };
    return { value: o.value, coefficient: conv.fromCanonical(o.optimum, ctx) };
  });
  // Weighted least squares of log2(coefficient) on log2(scale), weights 1/se².
  const xs = optima.map((o) => Math.log2(o.value as number));
  const ys = values.map((v) => Math.log2(v.coefficient));
  const ws = optima.map((o) => 1 / (o.seLog2 * o.seLog2));
  const W = ws.reduce((a, b) => a + b, 0);
  const xm = xs.reduce((a, x, i) => a + ws[i] * x, 0) / W, ym = ys.reduce((a, y, i) => a + ws[i] * y, 0) / W;
  const sxx = xs.reduce((a, x, i) => a + ws[i] * (x - xm) ** 2, 0);
  const slope = xs.reduce((a, x, i) => a + ws[i] * (x - xm) * (ys[i] - ym), 0) / sxx;
  const se = Math.sqrt(1 / sxx);
  const range = Math.max(...xs) - Math.min(...xs);
  const total = slope * range;
  return {
    convention: conv.id, param: conv.param, slope, se, total,
    transfers: Math.abs(total) < Math.max(2 * se * range, gridStep),
    values,
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

const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
function std(v: readonly number[]): number {
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(v.length - 1, 1));
}
