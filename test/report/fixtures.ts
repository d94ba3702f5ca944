/**
 * Synthetic inputs for the report tests: trial results whose validation CE is a parabola in
 * log2 λ around a known optimum (so the analysis has a known answer), and hand-made analyses
 * with chosen movements (so tables and answers can be checked against exact numbers).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findConvention } from '../../src/regularization/conventions.js';
import { verdictOf, type AxisAnalysis, type Movement, type ScaleOptimum } from '../../src/study/analysis.js';
import { t975 } from '../../src/study/stats.js';
import type { StudyConfig } from '../../src/study/config.js';
import type { TrialResult } from '../../src/study/run-trial.js';
import { expandTrials } from '../../src/study/trials.js';

export const DATA_LABEL = 'synthetic data';

export function widthConfig(name = 'width', values: number[] = [16, 32, 64, 128]): StudyConfig {
  return {
    name, axis: 'width', values,
    lambda: { min: 1e-5, max: 1e-1, points: 9 },
    decay: { min: 1e-3, max: 1, points: 7 },
    seeds: [1, 2, 3],
    base: { hidden: [64], optimizer: 'momentum', lr: 0.05, adamLr: 1e-3, momentum: 0.9, batch: 64, trainSize: 0, validation: 500, schedule: 'constant', lrScaling: 'none' },
    budget: { epochs: 2 },
    refine: { octaves: [], extend: 0 },
    metric: 'final-ce',
  };
}

/** A deterministic value in [-1, 1) from a few integers. */
function hashNoise(...xs: number[]): number {
  let h = 2166136261;
  for (const x of xs) h = Math.imul(h ^ Math.round(x * 1e6), 16777619);
  return ((h >>> 0) / 4294967296) * 2 - 1;
}

/**
 * Results for every trial of `config`: validation CE = 0.5 − 0.03·log2(v/16) + 0.02·(log2 λ −
 * log2 λ*(v))² plus seed noise of ±`noise`, where λ*(v) = `optimum(v)`.
 */
export function syntheticResults(config: StudyConfig, optimum: (value: number) => number, noise = 0.002): TrialResult[] {
  return expandTrials(config, { label: DATA_LABEL, classes: 10 }).map((trial) => {
    const d = Math.log2(trial.coefficient) - Math.log2(optimum(trial.value as number));
    const ce = 0.5 - 0.03 * Math.log2(Number(trial.value) / 16) + 0.02 * d * d + noise * hashNoise(trial.seed, Math.log2(trial.coefficient), Number(trial.value));
    const weightNormSq = 100 * (Number(trial.value) / 16);
    const accuracy = 0.85 + 0.01 * Math.log2(Number(trial.value) / 16) - 0.01 * d * d;
    return {
      id: trial.id, trial,
      final_val_ce: ce, final_val_accuracy: accuracy, best_val_ce: ce, best_val_accuracy: accuracy, best_epoch: 2,
      test_accuracy: 0.84, test_ce: ce + 0.01, train_loss: 0.4, penalty: trial.coefficient * weightNormSq, weight_norm_sq: weightNormSq,
      train_count: 3000, decayed_params: 784 * Number(trial.value) + Number(trial.value) * 10, epochs: 2, steps: 94, seconds: 0.5, diverged: false,
    };
  });
}

/** Writes study.json and results.jsonl as `ridgeline study` would. */
export async function writeStudyDir(dir: string, configs: StudyConfig[], results: TrialResult[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'study.json'), JSON.stringify({ edition: 2, data: DATA_LABEL, classes: 10, configs }, null, 2) + '\n');
  await writeFile(join(dir, 'results.jsonl'), results.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

export interface HandOptions {
  study?: string;
  /** Octaves per doubling of seed:lambda and of per-weight:c. */
  seedSlope: number;
  perWeightSlope: number;
  se: number;
  /** Put the last optimum at the grid's edge (flagged, left out of the slope). */
  edge?: boolean;
}

/**
 * An analysis of a width study at widths 16, 32, 64 with chosen movements for two families
 * (seed:lambda with keras:l2, and per-weight:c), for checking tables and answers exactly. The
 * intervals are slope ± t(5)·se, the verdicts follow from them.
 */
export function handAnalysis(o: HandOptions): AxisAnalysis {
  const widths = [16, 32, 64];
  const grid = [1e-5, 1e-4, 1e-3, 1e-2];
  const optima: ScaleOptimum[] = widths.map((w, i) => ({
    value: w, x: Math.log2(w), kind: 'coupled',
    curve: grid.map((c) => {
      const ce = 0.5 + 0.01 * i + 0.02 * Math.log2(c / 4.39e-4) ** 2;
      return { coefficient: c, mean: ce, perSeed: [ce - 0.005, ce + 0.005], meanFinalCe: ce, meanBestCe: ce - 0.01, meanFinalError: 0.2, meanPenaltyShare: 0.076, meanWeightNormSq: 134.25 };
    }),
    optimum: o.edge && i === widths.length - 1 ? 1e-5 : 4.39e-4 * Math.pow(2, o.seedSlope * i),
    seLog2: 0.9, flag: o.edge && i === widths.length - 1 ? 'edge' : null, by: 'parabola', metricAtOptimum: 0.5093 + 0.01 * i,
    penaltyShare: 0.076, weightNormSq: 134.25, seeds: 6, replicates: [],
    context: { batch: 64, n: 3500, lr: 0.05, momentum: 0.9, params: 794 * w, epochs: 4 },
  }));
  const q = t975(5);
  const movement = (id: string, slope: number, scale = 1): Movement => {
    const conv = findConvention(id);
    const ci: [number, number] = [slope - q * o.se, slope + q * o.se];
    return {
      convention: id, param: conv.param, slope, se: o.se, ci, verdict: verdictOf(ci), chi2: 1, dof: 1, inflation: 1, total: slope * 2,
      ruleSlope: id === 'per-weight' ? -1 : 0,
      values: widths.map((w, i) => ({ value: w, coefficient: scale * 1e-4 * Math.pow(2, slope * i) })),
    };
  };
  return {
    study: o.study ?? 'width', axis: 'width', metric: 'final-ce', optima, gridStep: Math.log2(10), xLabel: 'log2 width', df: 5, pending: [],
    calibration: widths.map((w) => ({ value: w, errorAtOptimum: 0.2, errorAtSmallest: 0.201, errorDiff: -0.001, errorDiffSe: 0.002, ceAtOptimum: 0.51, earlyStopCe: 0.52, earlyStopDiff: -0.01, earlyStopDiffSe: 0.004 })),
    movements: [
      movement('seed', o.seedSlope),
      movement('keras', o.seedSlope),
      movement('per-weight', o.perWeightSlope, 12704),
    ],
  };
}
