/**
 * Noise-proof ratios: ridgeline and its peer measured in interleaved pairs (ridgeline, peer,
 * ridgeline, peer, …), each side in its own process of a few seconds. Whatever else the
 * machine does hits both sides of a pair alike, so the ratio is taken per pair, and reported
 * as the median of the pairs' ratios with their min and max and the number of pairs that
 * disagreed with the others on the winner.
 */
import { log } from './child.js';
import { median, type TimingOptions, type WorkloadName } from './common.js';
import { runSystem, type RunContext, type SystemRun, type SystemSpec } from './systems.js';

/** Which reference a ratio is against (the keys of a report's `ratios`, without `ratio_vs_`). */
export type Reference = 'pytorch_best' | 'tfjs_wasm' | 'tfjs_cpu';

export interface PairStats {
  /** The median of the per-pair ratios ridgeline / peer (samples/s). */
  median: number;
  min: number;
  max: number;
  pairs: number;
  ridgeline_wins: number;
  peer_wins: number;
  /** Pairs whose winner is not the majority's: min(ridgeline_wins, peer_wins). A tie (ratio 1) is neither. */
  disagreements: number;
}

export function pairStats(ratios: readonly number[]): PairStats {
  if (ratios.length === 0) throw new Error('pairStats: no pairs');
  const ridgelineWins = ratios.filter((r) => r > 1).length, peerWins = ratios.filter((r) => r < 1).length;
  return {
    median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), pairs: ratios.length,
    ridgeline_wins: ridgelineWins, peer_wins: peerWins, disagreements: Math.min(ridgelineWins, peerWins),
  };
}

export interface PairEntry {
  ridgeline_samples_per_s: number;
  peer_samples_per_s: number;
  ratio: number;
  /** 1-minute load average before the ridgeline side started. */
  load_average_before: number;
}

export interface PairResult {
  /** The ridgeline system (its name) and its key in `ratios` ('native', 'wasm-1t', …). */
  system: string;
  key: string;
  peer: string;
  reference: Reference;
  timing: { ridgeline: TimingOptions; peer: TimingOptions };
  pairs: PairEntry[];
  /** Pairs dropped because one side failed or was skipped. */
  failed_pairs: number;
  stats: PairStats | null;
}

/**
 * `n` interleaved pairs of `system` and `peer`. Returns the pairs, and every run (both sides)
 * for the systems table.
 */
export async function runPairs(
  ctx: RunContext, workload: WorkloadName, pair: { system: SystemSpec; key: string; peer: SystemSpec; reference: Reference },
  n: number, timing: { ridgeline: TimingOptions; peer: TimingOptions }, extraArgs: string[] = [],
): Promise<{ result: PairResult; runs: SystemRun[]; failures: number }> {
  const pairs: PairEntry[] = [];
  const runs: SystemRun[] = [];
  let failures = 0, failedPairs = 0;
  for (let i = 0; i < n; i++) {
    log(`pair ${i + 1}/${n}${workload === 'mlp' ? '' : ` [${workload}]`}: ${pair.system.name} vs ${pair.peer.name}`);
    const a = await runSystem(pair.system, ctx, workload, timing.ridgeline, 'pair', extraArgs);
    runs.push(a.run);
    if (a.failed) failures++;
    if (a.run.samples_per_s === null) {
      failedPairs += n - i; // the ridgeline side does not run here: no point in the rest
      break;
    }
    const b = await runSystem(pair.peer, ctx, workload, timing.peer, 'pair', extraArgs);
    runs.push(b.run);
    if (b.failed) failures++;
    if (b.run.samples_per_s === null) {
      failedPairs++;
      continue;
    }
    pairs.push({
      ridgeline_samples_per_s: a.run.samples_per_s, peer_samples_per_s: b.run.samples_per_s,
      ratio: a.run.samples_per_s / b.run.samples_per_s, load_average_before: a.run.load_average_before?.[0] ?? NaN,
    });
  }
  const stats = pairs.length > 0 ? pairStats(pairs.map((p) => p.ratio)) : null;
  if (stats) {
    log(`  ${pair.system.name} / ${pair.peer.name}: median ${stats.median.toFixed(2)}× (${stats.min.toFixed(2)}–${stats.max.toFixed(2)}), ` +
      `${stats.disagreements} of ${stats.pairs} pairs disagreed`);
  }
  return {
    result: { system: pair.system.name, key: pair.key, peer: pair.peer.name, reference: pair.reference, timing, pairs, failed_pairs: failedPairs, stats },
    runs, failures,
  };
}
