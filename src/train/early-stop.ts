/**
 * Early stopping on validation CE: stop once the best epoch is `patience` epochs behind. A
 * function of the metrics history alone, so a resumed run decides exactly as an uninterrupted
 * one would.
 */
import type { EpochMetrics } from './trainer.js';

/** The epoch (1-based) with the lowest validation CE so far, or null without validation. */
export function bestEpoch(history: readonly EpochMetrics[]): EpochMetrics | null {
  let best: EpochMetrics | null = null;
  for (const m of history) if (m.val_loss !== null && (best === null || m.val_loss < best.val_loss!)) best = m;
  return best;
}

export function shouldStopEarly(history: readonly EpochMetrics[], patience: number): boolean {
  const best = bestEpoch(history);
  return best !== null && history[history.length - 1].epoch - best.epoch >= patience;
}
