/**
 * `npm run bench -- --sweep`: how the cost grows with the work. The MLP 784-w-w-10 at widths
 * SWEEP_WIDTHS and batch sizes SWEEP_BATCHES, ridgeline native (its default threads) against
 * PyTorch's best configuration (chosen and checked at the bench's MLP, width 256 and B = 128,
 * as in a bench run), in interleaved pairs (one per point unless --pairs says more); each side's
 * model GFLOP/s and its share of the measured peak. sweep_plot.ts draws it.
 */
import os from 'node:os';
import { type BackendName, type LoadResult } from '../src/kernels/select.js';
import { loadBackends } from '../src/kernels/select-node.js';
import { log, UsageError } from './child.js';
import { median, mlpModel, pairTimingFor, trainFlopsPerSample } from './common.js';
import { loadData, withBatchDir } from './data.js';
import { describeMachine, type Machine } from './machine.js';
import { measurePeaks, peakFor, PEAK_TIMING, type Peaks } from './peak.js';
import { runPairs, type PairResult } from './pairs.js';
import { screenPeers } from './peers.js';
import { modelGflops, type PeersSection } from './report.js';
import type { RunContext, SystemSpec } from './systems.js';

export const SWEEP_WIDTHS = [256, 512, 1024, 2048] as const;
export const SWEEP_BATCHES = [32, 128, 512] as const;

export interface SweepSide { name: string; threads: number | null; samples_per_s: number; model_gflops: number; peak_threads: number | null; percent_of_peak: number | null }

export interface SweepPoint {
  width: number;
  batch: number;
  flops_per_sample: number;
  native: SweepSide | null;
  pytorch: SweepSide | null;
  pairs: PairResult;
}

export interface SweepReport {
  mode: 'sweep';
  machine: Machine;
  peak: Peaks;
  peers: PeersSection | null;
  widths: number[];
  batches: number[];
  points: SweepPoint[];
  seconds: number;
}

export interface SweepOptions { native: SystemSpec; pytorch: SystemSpec[]; reference: SystemSpec; widths: number[]; batches: number[]; pairs: number; quick: boolean }

export async function runSweep(o: SweepOptions): Promise<{ report: SweepReport; failures: number }> {
  const started = Date.now();
  const machine = describeMachine(o.quick ? 'quick sweep' : 'sweep');
  const loads = new Map<BackendName, LoadResult>((await loadBackends()).map((r) => [r.name, r]));
  const native = loads.get('native');
  if (!native || 'error' in native) throw new Error(`the sweep needs the native backend: ${native && 'error' in native ? native.error : 'not found'}`);
  const data = await loadData();
  const peaks = await measurePeaks(o.quick ? PEAK_TIMING.quick : PEAK_TIMING.full);
  let failures = 0;
  const { peers, points } = await withBatchDir(data, false, async (dir) => {
    const ctx: RunContext = { dir, quick: o.quick, loads };
    const screened = o.pytorch.length > 0 ? await screenPeers(ctx, 'mlp', o.pytorch, o.reference) : null;
    failures += screened?.failures ?? 0;
    const best = screened?.best ?? null;
    if (!best) throw new UsageError('the sweep compares ridgeline native with PyTorch\'s best, and no correct PyTorch configuration ran (see above; python3-torch installed? --only/--skip leaving none?)');
    const out: SweepPoint[] = [];
    for (const width of o.widths) {
      for (const batch of o.batches) {
        const flops = trainFlopsPerSample(mlpModel(width));
        const extra = ['--width', String(width), '--batch', String(batch)];
        const timing = { ridgeline: pairTimingFor('mlp', o.quick), peer: pairTimingFor('mlp', o.quick) };
        log(`sweep: width ${width}, B = ${batch}`);
        const r = await runPairs(ctx, 'mlp', { system: o.native, key: 'native', peer: best, reference: 'pytorch_best' }, o.pairs, timing, extra);
        failures += r.failures;
        const side = (name: string, sel: 'ridgeline_samples_per_s' | 'peer_samples_per_s'): SweepSide | null => {
          const rates = r.result.pairs.map((p) => p[sel]);
          if (rates.length === 0) return null;
          const run = r.runs.find((x) => x.name === name && x.samples_per_s !== null)!;
          const sps = median(rates);
          const g = modelGflops(sps, flops);
          const p = peakFor(run, peaks);
          return { name, threads: run.threads, samples_per_s: sps, model_gflops: g, peak_threads: p?.threads ?? null, percent_of_peak: p ? (100 * g) / p.gflops : null };
        };
        out.push({
          width, batch, flops_per_sample: flops, native: side(o.native.name, 'ridgeline_samples_per_s'),
          pytorch: side(best.name, 'peer_samples_per_s'), pairs: r.result,
        });
      }
    }
    return { peers: screened?.peers ?? null, points: out };
  });
  machine.load_average_end = os.loadavg();
  return { report: { mode: 'sweep', machine, peak: peaks, peers, widths: o.widths, batches: o.batches, points, seconds: (Date.now() - started) / 1000 }, failures };
}
