/**
 * What "best" means for a study. Three held-out metrics, each read from a trial's result:
 *
 *   final-ce     validation cross-entropy after the last epoch: the data term of the seed
 *                objective on held-out data, smooth in λ, so its optimum can be located. L2
 *                moves it mostly through calibration (over-confident logits cost CE).
 *   best-ce      the lowest validation CE over the epochs: what early stopping would keep.
 *                Where it is flat in λ, early stopping does L2's job.
 *   final-error  validation error rate after the last epoch: classification, which is what a
 *                user of the classifier sees; the flattest and noisiest of the three.
 *
 * The default is final-ce: it is the quantity the objective penalizes, and its curve against
 * λ has a minimum the data can locate (docs/study.md "Metrics"). The report puts all three
 * side by side and says when L2 changes calibration but not accuracy.
 */
import type { TrialResult } from './run-trial.js';

export const METRICS = ['final-ce', 'best-ce', 'final-error'] as const;
export type Metric = (typeof METRICS)[number];

export const METRIC_LABELS: Record<Metric, string> = {
  'final-ce': 'final validation CE',
  'best-ce': 'best-epoch validation CE',
  'final-error': 'final validation error rate',
};

/** Why there are three, in one sentence for the report. */
export const METRIC_WHY = 'Final validation CE is the default: it is the data term of the objective on held-out data and smooth in λ, so its optimum can be located. ' +
  'Best-epoch CE is what early stopping would keep; the error rate is what a user of the classifier sees. Where they disagree, L2 is changing calibration more than accuracy.';

/** The metric of one trial; +∞ for a diverged run (it is never the best). */
export function metricOf(r: TrialResult, metric: Metric): number {
  if (r.diverged) return Infinity;
  switch (metric) {
    case 'final-ce': return r.final_val_ce ?? Infinity;
    case 'best-ce': return r.best_val_ce ?? Infinity;
    case 'final-error': return r.final_val_accuracy === null ? Infinity : 1 - r.final_val_accuracy;
  }
}
