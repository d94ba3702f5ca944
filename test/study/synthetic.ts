/**
 * Synthetic studies with a known answer, for the analysis tests: at scale i the true optimum
 * is log2 λ* = mu0 + slope·i; seed s sees it displaced by u ~ N(0, jitter²) and every trial's
 * metric carries independent noise e ~ N(0, noise²):
 *
 *   metric(λ) = 0.4 + curvature·(log2 λ − log2 λ* − u)² + e
 *
 * The grid is the study's own: coarse points, then the refinement passes (refine.ts) run on
 * these results exactly as `ridgeline study` would run them.
 */
import { expandTrials, type Trial } from '../../src/study/trials.js';
import type { StudyConfig } from '../../src/study/config.js';
import type { TrialResult } from '../../src/study/run-trial.js';
import { Rng } from '../../src/tensor/rng.js';

export interface SyntheticLaw {
  /** log2 of the true optimum at the first scale. */
  mu0: number;
  /** Octaves per doubling of the scale. */
  slope: number;
  curvature: number;
  jitter: number;
  noise: number;
}

export const SYNTH_DATA = { label: 'synthetic', classes: 10 };

export function syntheticConfig(values = [64, 128, 256, 512, 1024], seeds = [1, 2, 3, 4, 5, 6]): StudyConfig {
  return {
    name: 'synthetic', axis: 'width', values, seeds,
    lambda: { min: 1e-5, max: 1e-1, points: 9 }, decay: { min: 1e-3, max: 10, points: 9 },
    refine: { octaves: [-1, -0.5, 0.5, 1], extend: 2 }, metric: 'final-ce',
    base: { hidden: [64], optimizer: 'momentum', lr: 0.05, adamLr: 1e-3, momentum: 0.9, batch: 128, trainSize: 7500, validation: 10000, schedule: 'cosine', lrScaling: 'none' },
    budget: { epochs: 40 },
  };
}

/** Every trial of the study, passes included, with results from the law; `seed` makes each study independent. */
export function syntheticStudy(law: SyntheticLaw, seed: number, config = syntheticConfig()): TrialResult[] {
  const rng = new Rng(seed);
  const jitter = new Map<string, number>();
  const results = new Map<string, TrialResult>();
  const make = (t: Trial): TrialResult => {
    const i = config.values.indexOf(t.value);
    const key = `${t.value}|${t.seed}`;
    if (!jitter.has(key)) jitter.set(key, law.jitter * rng.normal());
    const d = Math.log2(t.coefficient) - (law.mu0 + law.slope * i) - jitter.get(key)!;
    const ce = 0.4 + law.curvature * d * d + law.noise * rng.normal();
    const width = Number(t.value);
    return {
      id: t.id, trial: t, final_val_ce: ce, final_val_accuracy: 0.85 - ce / 10, best_val_ce: ce - 0.01, best_val_accuracy: 0.86, best_epoch: 30,
      test_accuracy: 0.85, test_ce: ce, train_loss: 0.3, penalty: 0.05, weight_norm_sq: 100, train_count: 7500,
      decayed_params: 784 * width + width * width + width * 10, epochs: 40, steps: 2360, seconds: 1, diverged: false,
    };
  };
  // Run passes until the trial list stops growing, as the runner does.
  for (;;) {
    const trials = expandTrials(config, SYNTH_DATA, [...results.values()]);
    const fresh = trials.filter((t) => !results.has(t.id));
    if (fresh.length === 0) return [...results.values()];
    for (const t of fresh) results.set(t.id, make(t));
  }
}
