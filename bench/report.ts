/**
 * The report's shape and the arithmetic on it: one row per system from its runs, the ratios
 * from the interleaved pairs, model GFLOP/s and its share of the measured peak.
 */
import { median, type WorkloadName } from './common.js';
import type { Machine } from './machine.js';
import type { PairResult, Reference } from './pairs.js';
import { peakFor, type PeakKey, type Peaks } from './peak.js';
import type { CheckResult } from './peers.js';
import { shortName, type SystemRun } from './systems.js';

export interface GemmEntry { shape: string; use: string; gflops: number }
export interface GemmResult { backend: string; skipped?: string; shapes?: GemmEntry[]; threads?: number | null }
export interface MemoryResult {
  backend: string; skipped?: string; flat?: boolean; steps_per_epoch?: number;
  epochs?: { epoch: number; rss_mb: number; heap_used_mb: number }[];
  warmup_epochs?: number; rss_growth_after_warmup_mb?: number; heap_growth_after_warmup_mb?: number;
  /** Reports before 2026-11-26 (session 5): 3 epochs, growth after the first. */
  rss_growth_after_first_epoch_mb?: number; heap_growth_after_first_epoch_mb?: number;
}

/** A system's row: its runs' median (each run a process of its own), with every run listed. */
export type SystemRow = SystemRun & {
  runs?: { role: SystemRun['role']; samples_per_s: number; cpu_utilization: number; load_average_before?: number[] }[];
  failed_runs?: number;
};

export type Ratios = Record<`ratio_vs_${Reference}`, number | null>;

/** One PyTorch configuration as the peers' screen saw it. */
export interface PeerEntry {
  name: string;
  threads: number | null;
  openblas_coretype: string | null;
  /** The kernels OpenBLAS reported it ran (openblas_get_corename, what OPENBLAS_VERBOSE=2 prints). */
  openblas_core: string | null;
  samples_per_s: number | null;
  check: CheckResult | null;
}

export interface PeersSection {
  reference: { name: string; openblas_coretype: string | null; openblas_core: string | null; loss: number | null; skipped?: string };
  check_steps: number;
  tolerance: number;
  configurations: PeerEntry[];
  /** The fastest correct configuration: "PyTorch best". */
  best: string | null;
}

export interface PeakShare { peak: PeakKey; threads: number; peak_gflops: number; model_gflops: number; percent: number }

export interface WorkloadResult {
  systems: SystemRow[];
  references: { pytorch_best: { name: string; samples_per_s: number | null } | null; tfjs_wasm: number | null; tfjs_cpu: number | null };
  ratios: Record<string, Ratios>;
  pairs: PairResult[];
  peers: PeersSection | null;
  effective_gflops: Record<string, number>;
  percent_of_peak: Record<string, PeakShare>;
}

export interface CnnSection extends WorkloadResult {
  workload: Record<string, unknown> & { model: string; optimizer: string; batch: number; flops_per_sample: number; regularization: string };
  rss: { systems: Record<string, number> };
}

export type Report = {
  machine: Machine;
  workloads: WorkloadName[];
  workload: Record<string, unknown> & { flops_per_sample: number };
  peak?: Peaks | null;
  systems: SystemRow[];
  pairs?: PairResult[];
  peers?: PeersSection | null;
  percent_of_peak?: Record<string, PeakShare>;
  gemm_details: Record<string, GemmResult>;
  memory_flat: Record<string, MemoryResult>;
  cnn: CnnSection | null;
  seconds: number;
};

/** One system's runs (single, pair sides, screen) as its row: the median of the runs' samples/s. */
export function aggregate(runs: SystemRun[]): SystemRow {
  const ok = runs.filter((r) => r.samples_per_s !== null && r.timing);
  if (ok.length === 0) return runs[runs.length - 1];
  const first = ok[0], last = ok[ok.length - 1];
  const sps = median(ok.map((r) => r.samples_per_s!));
  const maxOf = (f: (r: SystemRun) => number | undefined) => {
    const v = ok.map(f).filter((x): x is number => x !== undefined);
    return v.length ? Math.max(...v) : undefined;
  };
  const row: SystemRow = {
    ...first,
    samples_per_s: sps,
    timing: {
      samples_per_s: sps, repetitions: ok.flatMap((r) => r.timing!.repetitions), warmup_steps: first.timing!.warmup_steps,
      cpu_utilization: median(ok.map((r) => r.timing!.cpu_utilization)),
    },
    last_loss: last.last_loss,
    peak_rss_mb: maxOf((r) => r.peak_rss_mb),
    rusage_max_rss_mb: maxOf((r) => r.rusage_max_rss_mb),
    runs: ok.map((r) => ({ role: r.role, samples_per_s: r.samples_per_s!, cpu_utilization: r.timing!.cpu_utilization, load_average_before: r.load_average_before })),
  };
  delete row.role;
  if (ok.length < runs.length) row.failed_runs = runs.length - ok.length;
  return row;
}

/** Every system's runs as rows, in the order the systems were given. */
export function rows(order: string[], runs: SystemRun[]): SystemRow[] {
  return order.filter((name) => runs.some((r) => r.name === name)).map((name) => aggregate(runs.filter((r) => r.name === name)));
}

export function references(systems: SystemRow[], pytorchBest: string | null): WorkloadResult['references'] {
  const rate = (name: string) => systems.find((s) => s.name === name && s.samples_per_s !== null)?.samples_per_s ?? null;
  return {
    pytorch_best: pytorchBest ? { name: pytorchBest, samples_per_s: rate(pytorchBest) } : null,
    tfjs_wasm: rate('tfjs-wasm'),
    tfjs_cpu: rate('tfjs-cpu'),
  };
}

/**
 * Each ridgeline system's ratios: the median of its interleaved pairs against each reference it
 * was paired with; null against a reference it was not paired with (ratios are never taken
 * from one run of each).
 */
export function ratiosFromPairs(systems: SystemRow[], pairs: PairResult[]): Record<string, Ratios> {
  const out: Record<string, Ratios> = {};
  for (const s of systems) {
    if (!s.name.startsWith('ridgeline-') || s.samples_per_s === null) continue;
    const of = (ref: Reference) => pairs.find((p) => p.system === s.name && p.reference === ref)?.stats?.median ?? null;
    out[shortName(s)] = { ratio_vs_pytorch_best: of('pytorch_best'), ratio_vs_tfjs_wasm: of('tfjs_wasm'), ratio_vs_tfjs_cpu: of('tfjs_cpu') };
  }
  return out;
}

/** samples/s × FLOPs per example: the model FLOP rate each system sustains over whole steps. */
export const modelGflops = (samplesPerS: number, flopsPerSample: number) => (samplesPerS * flopsPerSample) / 1e9;

export const effectiveGflops = (systems: SystemRow[], flopsPerSample: number) => Object.fromEntries(systems
  .filter((s) => s.samples_per_s !== null).map((s) => [s.name, modelGflops(s.samples_per_s!, flopsPerSample)]));

/** Each system's model GFLOP/s as a percentage of the peak its instructions can reach (peak.ts peakFor). */
export function percentOfPeak(systems: SystemRow[], flopsPerSample: number, peaks: Peaks | null): Record<string, PeakShare> {
  const out: Record<string, PeakShare> = {};
  if (!peaks) return out;
  for (const s of systems) {
    if (s.samples_per_s === null) continue;
    const p = peakFor(s, peaks);
    if (!p) continue;
    const g = modelGflops(s.samples_per_s, flopsPerSample);
    out[s.name] = { peak: p.key, threads: p.threads, peak_gflops: p.gflops, model_gflops: g, percent: (100 * g) / p.gflops };
  }
  return out;
}

export const rssOf = (list: SystemRow[]) => Object.fromEntries(list.filter((s) => s.peak_rss_mb !== undefined).map((s) => [s.name, s.peak_rss_mb!]));
