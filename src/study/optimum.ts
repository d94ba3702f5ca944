/**
 * The optimum of one scale's curve (metric against log2 of the coefficient), and its
 * uncertainty from a bootstrap over seeds. Pure, deterministic (seeded bootstrap).
 *
 * Location: a least-squares parabola through the points within WINDOW octaves of the
 * seed-mean minimum (after refinement: the minimum's half-octave neighbours and the coarse
 * ones). Nothing is clamped. What the data cannot locate is flagged and kept out of the slope:
 *
 *   edge     the minimum is the lowest or highest coefficient tried: the optimum may lie beyond
 *   outside  the vertex falls outside the fitted points (the parabola extrapolates)
 *
 * A curve that is not convex around its minimum (flat within noise) is located at its grid
 * minimum; its uncertainty then includes the grid's spacing there (a uniform ±½ spacing, the
 * measurement's resolution), not a fixed floor.
 */
import { Rng } from '../tensor/rng.js';
import { fitParabola, mean, sd } from './stats.js';

/** Half-width of the fitting window in octaves: the coarse neighbours (1.66 apart) and the refined points. */
export const WINDOW = 1.75;

export type OptimumFlag = 'edge' | 'outside';

export interface Located {
  /** log2 of the coefficient at the optimum. */
  x: number;
  /** The fitted (or grid) metric there. */
  y: number;
  by: 'parabola' | 'grid';
  flag: OptimumFlag | null;
}

/**
 * The minimum of y(x) (x sorted ascending; y may hold +∞ for diverged runs, which are never
 * the minimum and are left out of the fit).
 */
export function locateMinimum(x: readonly number[], y: readonly number[]): Located {
  let k = 0;
  for (let i = 1; i < y.length; i++) if (y[i] < y[k]) k = i;
  const grid = (flag: OptimumFlag | null): Located => ({ x: x[k], y: y[k], by: 'grid', flag });
  if (k === 0 || k === y.length - 1) return grid('edge');
  const idx = x.map((_, i) => i).filter((i) => Math.abs(x[i] - x[k]) <= WINDOW && Number.isFinite(y[i]));
  if (!idx.some((i) => i < k) || !idx.some((i) => i > k) || idx.length < 3) return grid(null);
  const fit = fitParabola(idx.map((i) => x[i] - x[k]), idx.map((i) => y[i]));
  if (!fit || !(fit[0] > 0)) return grid(null);
  const [a, b, c] = fit;
  const v = -b / (2 * a);
  const lo = x[idx[0]] - x[k], hi = x[idx[idx.length - 1]] - x[k];
  if (v < lo || v > hi) return { x: x[k] + Math.min(hi, Math.max(lo, v)), y: y[k], by: 'parabola', flag: 'outside' };
  return { x: x[k] + v, y: a * v * v + b * v + c, by: 'parabola', flag: null };
}

export interface ScaleFit {
  located: Located;
  /** Standard error of log2(optimum): bootstrap over seeds, plus the grid resolution where located on the grid. */
  seLog2: number;
  /** log2(optimum) of each bootstrap replicate (the same count at every scale), for the slope's bootstrap. */
  replicates: number[];
}

export const BOOTSTRAP = 400;

/**
 * `perSeed[i][s]`: the metric at coefficient i (x[i] = log2 of it, ascending) for seed s.
 * Replicates resample the seeds with replacement, the same draw at every coefficient (a seed
 * is one training run per coefficient and a shared subset of the data, so its values move
 * together across the curve).
 */
export function fitScale(x: readonly number[], perSeed: readonly (readonly number[])[], rngSeed: number): ScaleFit {
  const seeds = perSeed[0]?.length ?? 0;
  const located = locateMinimum(x, perSeed.map(mean));
  const rng = new Rng(rngSeed);
  const replicates: number[] = [];
  const pick = new Array<number>(seeds);
  for (let b = 0; b < BOOTSTRAP; b++) {
    for (let s = 0; s < seeds; s++) pick[s] = rng.int(seeds);
    replicates.push(locateMinimum(x, perSeed.map((row) => mean(pick.map((s) => row[s])))).x);
  }
  let variance = sd(replicates) ** 2;
  if (located.by === 'grid') {
    const k = x.indexOf(located.x);
    const spacing = ((x[Math.min(k + 1, x.length - 1)] - x[Math.max(k - 1, 0)]) / 2) || 1;
    variance += spacing ** 2 / 12;
  }
  return { located, seLog2: Math.sqrt(variance), replicates };
}
