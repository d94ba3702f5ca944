/**
 * `npm run bench`: the measured peak, each workload (workload.ts), and for the MLP the GEMM
 * rates and memory over epochs of each ridgeline backend; the report (report.ts) as JSON or a
 * table (table.ts).
 */
import os from 'node:os';
import { type BackendName, type LoadResult } from '../src/kernels/select.js';
import { loadBackends } from '../src/kernels/select-node.js';
import { log, nodeWorker, runChild } from './child.js';
import {
  CNN_ARCH, CNN_PARAMS, CNN_WORKLOAD, WORKLOAD, cnnSpec, forwardMacs, mlpModel, mlpSizes, peakRssMb, timingFor,
  trainFlopsPerSample, type WorkloadName,
} from './common.js';
import { loadData, withBatchDir } from './data.js';
import { describeMachine, fmtLoad } from './machine.js';
import { measurePeaks, PEAK_TIMING, type Peaks } from './peak.js';
import type { CnnSection, GemmResult, MemoryResult, Report, WorkloadResult } from './report.js';
import { rssOf } from './report.js';
import { shortName, type RunContext, type SystemSpec } from './systems.js';
import { runWorkload } from './workload.js';

export interface BenchOptions {
  selected: SystemSpec[];
  workloads: WorkloadName[];
  quick: boolean;
  pairs: number;
  /** The PyTorch correctness reference (peers.ts referenceSystem). */
  reference: SystemSpec;
  /** What --workload said (for the MLP section's note when it did not run). */
  workloadOption: string;
}

const regularization = (lambdaE: number, what: string, tfWhat: string) =>
  `λ_E = ${lambdaE} on ${what} (ridgeline seed:lambda=${lambdaE}; tfjs l2(${lambdaE}) on ${tfWhat}; PyTorch weight_decay=${2 * lambdaE} on the weight group)`;

const EMPTY: WorkloadResult = {
  systems: [], references: { pytorch_best: null, tfjs_wasm: null, tfjs_cpu: null }, ratios: {}, pairs: [], peers: null,
  effective_gflops: {}, percent_of_peak: {},
};

/** GEMM at the MLP's shapes for every ridgeline system that loads (each with its own environment: threads); memory once per backend. */
async function gemmAndMemory(ctx: RunContext, selected: SystemSpec[], quickFlag: string[]) {
  const gemm: Record<string, GemmResult> = {};
  const memory: Record<string, MemoryResult> = {};
  let failures = 0;
  const loaded = selected.filter((s) => s.family === 'ridgeline' && 'backend' in ctx.loads.get(s.backend as BackendName)!);
  for (const s of loaded) {
    const key = shortName(s);
    log(`gemm ${key}: running…`);
    const outcome = await runChild(process.execPath, nodeWorker(['gemm', s.backend, ...quickFlag]), s.env);
    if (outcome.error || !outcome.result) {
      failures++;
      gemm[key] = { backend: s.backend, skipped: `failed: ${outcome.error}` };
    } else {
      gemm[key] = outcome.result as unknown as GemmResult;
    }
  }
  for (const backend of [...new Set(loaded.map((s) => s.backend))]) {
    log(`memory ${backend}: running…`);
    const outcome = await runChild(process.execPath, nodeWorker(['memory', backend, ctx.dir, ...quickFlag], ['--expose-gc']));
    if (outcome.error || !outcome.result) {
      failures++;
      memory[backend] = { backend, skipped: `failed: ${outcome.error}` };
    } else {
      memory[backend] = outcome.result as unknown as MemoryResult;
    }
  }
  return { gemm, memory, failures };
}

export async function runBench(o: BenchOptions): Promise<{ report: Report; failures: number }> {
  const started = Date.now();
  const machine = describeMachine(o.quick ? 'quick' : 'full');
  log(`ridgeline bench (${machine.mode}; ${o.workloads.join(', ')}): ${machine.cpu}, availableParallelism ${machine.available_parallelism}, ` +
    `load average ${fmtLoad(machine.load_average_start)}`);
  const loads = new Map<BackendName, LoadResult>((await loadBackends()).map((r) => [r.name, r]));
  const data = await loadData();
  const peaks: Peaks = await measurePeaks(o.quick ? PEAK_TIMING.quick : PEAK_TIMING.full);
  const mlpFlops = trainFlopsPerSample(mlpModel());
  const cnnFlops = trainFlopsPerSample(cnnSpec());
  let failures = 0;

  const { mlp, cnn, gemm, memory } = await withBatchDir(data, o.workloads.includes('cnn'), async (dir) => {
    const ctx: RunContext = { dir, quick: o.quick, loads };
    const common = { pairs: o.pairs, peaks, reference: o.reference };
    let mlpResult = EMPTY, cnnResult: WorkloadResult | null = null;
    let gemmOut: Record<string, GemmResult> = {}, memoryOut: Record<string, MemoryResult> = {};
    if (o.workloads.includes('mlp')) {
      const r = await runWorkload(ctx, 'mlp', o.selected, { ...common, flopsPerSample: mlpFlops });
      mlpResult = r.result;
      failures += r.failures;
      const gm = await gemmAndMemory(ctx, o.selected, o.quick ? ['--quick'] : []);
      gemmOut = gm.gemm;
      memoryOut = gm.memory;
      failures += gm.failures;
    }
    if (o.workloads.includes('cnn')) {
      const r = await runWorkload(ctx, 'cnn', o.selected, { ...common, flopsPerSample: cnnFlops });
      cnnResult = r.result;
      failures += r.failures;
    }
    return { mlp: mlpResult, cnn: cnnResult, gemm: gemmOut, memory: memoryOut };
  });
  machine.load_average_end = os.loadavg();
  for (const s of [...mlp.systems, ...(cnn?.systems ?? [])]) {
    for (const [k, v] of Object.entries(s.versions ?? {})) machine.versions[k] ??= v;
  }

  const gemmOut: Record<string, Record<string, number> | { skipped: string }> = {};
  for (const [b, g] of Object.entries(gemm)) {
    gemmOut[b] = g.skipped ? { skipped: g.skipped } : Object.fromEntries(g.shapes!.map((e) => [e.shape, e.gflops]));
  }

  let cnnSection: CnnSection | null = null;
  if (cnn) {
    const spec = cnnSpec();
    cnnSection = {
      workload: {
        model: `CNN ${CNN_ARCH} on ${CNN_WORKLOAD.inputShape.join('×')} (NCHW; TF.js NHWC), mean softmax cross-entropy`,
        arch: CNN_ARCH,
        input_shape: [...CNN_WORKLOAD.inputShape],
        params: CNN_PARAMS,
        regularization: regularization(CNN_WORKLOAD.lambdaE, 'conv kernels and dense weights only', 'the conv and dense kernels'),
        optimizer: `SGD momentum ${CNN_WORKLOAD.momentum}, lr ${CNN_WORKLOAD.lr}`,
        batch: CNN_WORKLOAD.batch,
        batches_in_memory: WORKLOAD.batches,
        forward_macs_per_sample: forwardMacs(spec),
        flops_per_sample: cnnFlops,
        flops_note: 'training step ≈ 3 × forward (2 FLOPs per multiply-accumulate) in the conv and dense layers; BN, ReLU, pooling not counted',
        timing: Object.fromEntries(cnn.systems.map((s) => [s.name, timingFor('cnn', o.quick, o.selected.find((t) => t.name === s.name)?.cnnPace)])),
        data: data.label,
      },
      ...cnn,
      rss: { systems: rssOf(cnn.systems) },
    };
  }

  const report: Report & Record<string, unknown> = {
    machine,
    workloads: o.workloads,
    workload: {
      model: `MLP ${mlpSizes().join('-')} relu, mean softmax cross-entropy`,
      regularization: regularization(WORKLOAD.lambdaE, 'weights only', 'kernels'),
      optimizer: `SGD momentum ${WORKLOAD.momentum}, lr ${WORKLOAD.lr}`,
      batch: WORKLOAD.batch,
      batches_in_memory: WORKLOAD.batches,
      flops_per_sample: mlpFlops,
      data: data.label,
      ...(data.note ? { data_note: data.note } : {}),
      ...(o.workloads.includes('mlp') ? {} : { skipped: `not selected (--workload ${o.workloadOption})` }),
    },
    peak: peaks,
    ...mlp,
    gemm: gemmOut,
    gemm_details: gemm,
    rss: {
      orchestrator_peak_mb: peakRssMb(),
      systems: rssOf(mlp.systems),
      note: 'peak RSS of each system\'s own process (VmHWM; Linux getrusage maxRSS/ru_maxrss, kept per system as rusage_max_rss_mb, ' +
        'also counts the parent\'s RSS at fork), including the runtime itself (node + tsx, or python + torch)',
    },
    memory_flat: memory,
    cnn: cnnSection,
    seconds: (Date.now() - started) / 1000,
  };
  return { report, failures };
}
