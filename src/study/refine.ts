/**
 * The grid at one scale, pass by pass, so optima are located by data and not by how far a
 * parabola reaches:
 *
 *   1. the coarse log grid;
 *   2. while the seed-mean minimum sits on an edge of the points so far, one more coarse step
 *      beyond that edge (up to `extend` of them);
 *   3. points at `octaves` (default ±½ and ±1 octave) around that minimum.
 *
 * Each pass starts only when every seed of every earlier point has finished, and its centre
 * is the minimum over the coarse and extension points only, so the list of points is a
 * deterministic function of finished results: reruns, shards and merges agree on it. Pure.
 */
import { round6, type StudyConfig } from './config.js';
import { metricOf, type Metric } from './metrics.js';
import type { TrialResult } from './run-trial.js';

/** Two points closer than this (octaves) are one point. */
const SAME_POINT = 0.05;

/**
 * The coefficients to run at one scale given what has finished: `lookup(coefficient, seed)`
 * returns the finished result of that trial, if any.
 */
export function coefficientsAt(
  coarse: readonly number[], refine: StudyConfig['refine'], metric: Metric, seeds: readonly number[],
  lookup: (coefficient: number, seed: number) => TrialResult | undefined,
): number[] {
  const points = [...coarse].sort((a, b) => a - b);
  const ratio = points[1] / points[0];
  const complete = () => points.every((c) => seeds.every((s) => lookup(c, s) !== undefined));
  const mean = (c: number) => seeds.reduce((a, s) => a + metricOf(lookup(c, s)!, metric), 0) / seeds.length;
  let extended = 0;
  for (;;) {
    if (!complete()) return points;
    const means = points.map(mean);
    const k = argmin(means);
    if (!Number.isFinite(means[k])) return points; // every run diverged: nothing to centre on
    if (k === 0 && extended < refine.extend) points.unshift(round6(points[0] / ratio));
    else if (k === points.length - 1 && extended < refine.extend) points.push(round6(points[points.length - 1] * ratio));
    else {
      const centre = points[k];
      const fine = refine.octaves.map((o) => round6(centre * Math.pow(2, o)))
        .filter((c) => points.every((p) => Math.abs(Math.log2(c / p)) > SAME_POINT));
      return [...points, ...fine].sort((a, b) => a - b);
    }
    extended++;
  }
}

function argmin(v: readonly number[]): number {
  let k = 0;
  for (let i = 1; i < v.length; i++) if (v[i] < v[k]) k = i;
  return k;
}
