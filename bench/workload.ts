/**
 * One workload (MLP or CNN) over the selected systems: the PyTorch configurations' screen and
 * check (peers.ts), then each ridgeline system in interleaved pairs with its peer (pairs.ts),
 * then a single run of every selected system that neither covered; one row per system.
 */
import { pairTimingFor, timingFor, type WorkloadName } from './common.js';
import { runPairs, type Reference } from './pairs.js';
import type { Peaks } from './peak.js';
import { screenPeers } from './peers.js';
import {
  effectiveGflops, percentOfPeak, ratiosFromPairs, references, rows, type WorkloadResult,
} from './report.js';
import { runSystem, shortName, type RunContext, type SystemRun, type SystemSpec } from './systems.js';
import type { BackendName } from '../src/kernels/select.js';

export interface WorkloadOptions {
  /** Pairs per ratio (1 where one side is the slowest pace: a single CNN step of TF.js cpu takes minutes). */
  pairs: number;
  peaks: Peaks | null;
  flopsPerSample: number;
  /** The correctness reference for the PyTorch configurations (peers.ts referenceSystem). */
  reference: SystemSpec;
}

/** A ridgeline system's peer: PyTorch's best for native code, TF.js wasm for wasm, TF.js cpu for js. */
function peerOf(s: SystemSpec, selected: SystemSpec[], pytorchBest: SystemSpec | null): { peer: SystemSpec; reference: Reference } | null {
  if (s.backend === 'native') return pytorchBest ? { peer: pytorchBest, reference: 'pytorch_best' } : null;
  const name = s.backend === 'wasm' ? 'tfjs-wasm' : s.backend === 'js' ? 'tfjs-cpu' : null;
  const peer = selected.find((p) => p.name === name);
  return peer ? { peer, reference: name === 'tfjs-wasm' ? 'tfjs_wasm' : 'tfjs_cpu' } : null;
}

export async function runWorkload(ctx: RunContext, workload: WorkloadName, selected: SystemSpec[], o: WorkloadOptions):
Promise<{ result: WorkloadResult; failures: number }> {
  const runs: SystemRun[] = [];
  let failures = 0;

  const torch = selected.filter((s) => s.family === 'pytorch');
  let best: SystemSpec | null = null;
  let peers: WorkloadResult['peers'] = null;
  if (torch.length > 0) {
    const screened = await screenPeers(ctx, workload, torch, o.reference);
    runs.push(...screened.runs);
    failures += screened.failures;
    best = screened.best;
    peers = screened.peers;
  }

  const pairs: WorkloadResult['pairs'] = [];
  for (const s of selected.filter((x) => x.family === 'ridgeline')) {
    const load = ctx.loads.get(s.backend as BackendName);
    const p = peerOf(s, selected, best);
    if (!p || !load || 'error' in load) continue;
    const slowest = workload === 'cnn' && (s.cnnPace === 'slowest' || p.peer.cnnPace === 'slowest');
    const timing = { ridgeline: pairTimingFor(workload, ctx.quick, s.cnnPace), peer: pairTimingFor(workload, ctx.quick, p.peer.cnnPace) };
    const out = await runPairs(ctx, workload, { system: s, key: shortName(s), ...p }, slowest ? 1 : o.pairs, timing);
    runs.push(...out.runs);
    failures += out.failures;
    pairs.push(out.result);
  }

  for (const s of selected) {
    if (runs.some((r) => r.name === s.name)) continue;
    const { run, failed } = await runSystem(s, ctx, workload, timingFor(workload, ctx.quick, s.cnnPace), 'single');
    runs.push(run);
    if (failed) failures++;
  }

  const systems = rows(selected.map((s) => s.name), runs);
  return {
    failures,
    result: {
      systems, references: references(systems, best?.name ?? null), ratios: ratiosFromPairs(systems, pairs), pairs, peers,
      effective_gflops: effectiveGflops(systems, o.flopsPerSample), percent_of_peak: percentOfPeak(systems, o.flopsPerSample, o.peaks),
    },
  };
}
