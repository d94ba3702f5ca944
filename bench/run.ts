/**
 * `npm run bench [-- --json] [-- --quick] [-- --only js,tfjs-wasm,pytorch] [-- --workload mlp|cnn|all] [-- --out report.json]`
 *
 * Training throughput of ridgeline (each kernel backend that loads), TensorFlow.js (cpu and
 * wasm backends) and PyTorch 1.13 (1 and 2 threads) on two workloads and the same 50
 * pre-loaded batches of Fashion-MNIST:
 *  - mlp (bench/common.ts WORKLOAD): MLP 784-256-256-10, ReLU, mean softmax CE + λ_E·Σw² on the
 *    weights with λ_E = 1e-4, SGD with momentum 0.9 at lr 0.05, B = 128; then GEMM GFLOP/s of
 *    each ridgeline backend at the shapes its Dense layers call, and RSS over three short
 *    epochs (does memory stay flat?);
 *  - cnn (CNN_WORKLOAD): the README's CNN recipe model (CNN_ARCH) on 1×28×28 images, same loss,
 *    penalty (conv kernels and dense weights), optimizer and batch.
 *
 * Every system runs in its own child process, one at a time (bench/worker.ts, or
 * bench/torch_step.py under /usr/bin/python3), and hands back one JSON line. This process only
 * loads the data, writes the batches to a temp directory, spawns, and reports.
 *
 * Not part of `npm test`: timings depend on the machine and on whatever else it is running.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type BackendName, type LoadResult } from '../src/kernels/select.js';
import { loadBackends } from '../src/kernels/select-node.js';
import { DEBIAN_FASHION_MNIST, loadIdxDirectory, resolveDataSource } from '../src/node/datasets.js';
import { mlpSpec } from '../src/nn/spec.js';
import {
  CNN_ARCH, CNN_PARAMS, CNN_WORKLOAD, REPO_ROOT, WORKLOAD, WORKLOAD_NAMES, cnnSpec, forwardMacs, peakRssMb, timingArgs,
  timingFor, trainFlopsPerSample, writeBatches, type Batches, type CnnPace, type SystemResult, type WorkloadName,
} from './common.js';

const PYTHON = '/usr/bin/python3';
const WORKER = join(REPO_ROOT, 'bench', 'worker.ts');
const TORCH_SCRIPT = join(REPO_ROOT, 'bench', 'torch_step.py');
const CHILD_TIMEOUT_MS = 15 * 60 * 1000;

interface SystemSpec {
  name: string;
  family: 'ridgeline' | 'tfjs' | 'pytorch';
  backend: string;
  threads?: number;
  /** Extra environment for the child (PyTorch's thread settings). */
  env?: Record<string, string>;
  note?: string;
  /** How slow its CNN step is (common.ts CNN_TIMING): the JavaScript conv loops get fewer, longer repetitions. */
  cnnPace?: CnnPace;
}

const torchThreads = (n: number): Record<string, string> => ({
  OMP_NUM_THREADS: String(n), OPENBLAS_NUM_THREADS: String(n), MKL_NUM_THREADS: String(n),
});

/** glibc malloc keeps freed blocks of any size for reuse (no mmap per tensor, no trimming). */
const CACHING_MALLOC = 'glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=68719476736';
const MALLOC_NOTE = `GLIBC_TUNABLES=${CACHING_MALLOC}: freed tensors are reused instead of unmapped (a caching allocator, as PyTorch's CPU tuning guide advises)`;

const SYSTEMS: SystemSpec[] = [
  { name: 'ridgeline-native', family: 'ridgeline', backend: 'native' },
  {
    name: 'ridgeline-native-1t', family: 'ridgeline', backend: 'native', env: { OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
    note: 'OPENBLAS_NUM_THREADS=1: the native backend at one BLAS thread (its default is min(2, cores))',
  },
  { name: 'ridgeline-wasm', family: 'ridgeline', backend: 'wasm' },
  {
    name: 'ridgeline-wasm-1t', family: 'ridgeline', backend: 'wasm', env: { RIDGELINE_WASM_THREADS: '1' },
    note: 'RIDGELINE_WASM_THREADS=1: the wasm backend on one thread (its default is min(2, cores): worker_threads over a shared memory)',
  },
  {
    name: 'ridgeline-wasm-simd128', family: 'ridgeline', backend: 'wasm', env: { RIDGELINE_WASM_VARIANT: 'simd128' },
    note: 'RIDGELINE_WASM_VARIANT=simd128: the wasm backend without relaxed SIMD (multiply and add, no FMA), as on a runtime without it',
  },
  { name: 'ridgeline-js', family: 'ridgeline', backend: 'js', cnnPace: 'slow' },
  { name: 'tfjs-cpu', family: 'tfjs', backend: 'cpu', cnnPace: 'slowest' },
  { name: 'tfjs-wasm', family: 'tfjs', backend: 'wasm' },
  { name: 'pytorch-1t', family: 'pytorch', backend: 'cpu', threads: 1, env: torchThreads(1) },
  { name: 'pytorch-2t', family: 'pytorch', backend: 'cpu', threads: 2, env: torchThreads(2) },
  {
    name: 'pytorch-2t-passive', family: 'pytorch', backend: 'cpu', threads: 2,
    env: { ...torchThreads(2), OMP_WAIT_POLICY: 'PASSIVE' },
    note: 'OMP_WAIT_POLICY=PASSIVE: idle OpenMP workers sleep instead of spinning next to OpenBLAS\'s own threads',
  },
  // PyTorch allocates every activation and gradient anew each step; glibc hands allocations
  // this large to mmap and returns them on free, so each step page-faults its tensors in again.
  // On this machine (a Firecracker VM, where a fault is expensive) that tripled PyTorch's CNN
  // step on one thread (218 → 91 ms). PyTorch's CPU tuning guide prescribes a caching
  // allocator (jemalloc, tcmalloc); glibc's own thresholds do the same without installing one.
  { name: 'pytorch-1t-malloc', family: 'pytorch', backend: 'cpu', threads: 1, env: { ...torchThreads(1), GLIBC_TUNABLES: CACHING_MALLOC }, note: MALLOC_NOTE },
  { name: 'pytorch-2t-malloc', family: 'pytorch', backend: 'cpu', threads: 2, env: { ...torchThreads(2), GLIBC_TUNABLES: CACHING_MALLOC }, note: MALLOC_NOTE },
  {
    name: 'pytorch-2t-passive-malloc', family: 'pytorch', backend: 'cpu', threads: 2,
    env: { ...torchThreads(2), OMP_WAIT_POLICY: 'PASSIVE', GLIBC_TUNABLES: CACHING_MALLOC }, note: MALLOC_NOTE,
  },
];

const GROUPS = ['ridgeline', 'tfjs', 'pytorch'];

/** 'ridgeline-native-1t' → 'native-1t': the key of a ridgeline system in `ratios` and `gemm`. */
const shortName = (s: { name: string }) => s.name.replace(/^ridgeline-/, '');

/** `--only`/`--skip` tokens: a system's name, a ridgeline backend (js, wasm, native), or a family (ridgeline, tfjs, pytorch). */
function systemNames(option: string, values: string[]): Set<string> {
  const tokens = values.flatMap((o) => o.split(',')).map((t) => t.trim().toLowerCase()).filter(Boolean)
    .map((t) => (t === 'torch' ? 'pytorch' : t));
  const picked = new Set<string>();
  for (const t of tokens) {
    const hits = SYSTEMS.filter((s) => s.name === t || s.name === `ridgeline-${t}` || (GROUPS.includes(t) && s.family === t));
    if (hits.length === 0) {
      throw new UsageError(`${option}: unknown system '${t}' (systems: ${SYSTEMS.map((s) => s.name).join(', ')}; ` +
        `also js, wasm, native, ridgeline, tfjs, pytorch)`);
    }
    for (const h of hits) picked.add(h.name);
  }
  return picked;
}

function selectSystems(only: string[] | undefined, skip: string[] | undefined): SystemSpec[] {
  const picked = only && only.length > 0 ? systemNames('--only', only) : new Set(SYSTEMS.map((s) => s.name));
  const dropped = skip && skip.length > 0 ? systemNames('--skip', skip) : new Set<string>();
  return SYSTEMS.filter((s) => picked.has(s.name) && !dropped.has(s.name));
}

/** `--workload`: mlp, cnn, or all (both, MLP first). */
function selectWorkloads(value: string): WorkloadName[] {
  const v = value.trim().toLowerCase();
  if (v === 'all') return [...WORKLOAD_NAMES];
  if ((WORKLOAD_NAMES as readonly string[]).includes(v)) return [v as WorkloadName];
  throw new UsageError(`--workload: unknown workload '${value}' (${WORKLOAD_NAMES.join(', ')}, all)`);
}

class UsageError extends Error {}

const log = (msg: string) => process.stderr.write(`${msg}\n`);

interface ChildOutcome {
  result: Record<string, unknown> | null;
  error?: string;
}

/** Spawns one child, waits for it, and parses the JSON on the last line of its stdout. */
function runChild(command: string, args: string[], env: Record<string, string> = {}): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => { stdout += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ result: null, error: `could not start ${command}: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      let parsed: Record<string, unknown> | null = null;
      try {
        parsed = JSON.parse(last) as Record<string, unknown>;
      } catch {
        // fall through
      }
      if (parsed && typeof parsed.error !== 'string' && code === 0) resolve({ result: parsed });
      else resolve({ result: parsed, error: typeof parsed?.error === 'string' ? parsed.error : `exited with ${signal ?? `code ${code}`}` });
    });
  });
}

const nodeWorker = (args: string[], nodeFlags: string[] = []) => [...nodeFlags, '--import', 'tsx', WORKER, ...args];

async function loadData(): Promise<{ batches: Batches; label: string; note?: string }> {
  let dir = DEBIAN_FASHION_MNIST, note: string | undefined;
  if (!existsSync(dir)) {
    dir = resolveDataSource(undefined).dir;
    note = `${DEBIAN_FASHION_MNIST} is absent (Debian package dataset-fashion-mnist); using the embedded sample in ${dir}`;
    log(`note: ${note}`);
  }
  const { train } = await loadIdxDirectory(dir);
  const { batch: B, batches: NB } = WORKLOAD;
  const F = train.features;
  const x = new Float32Array(NB * B * F), y = new Int32Array(NB * B);
  // The first NB·B training images in file order (wrapping around if the set is smaller).
  for (let i = 0; i < NB * B; i++) {
    const src = i % train.count;
    x.set(train.images.subarray(src * F, (src + 1) * F), i * F);
    y[i] = train.labels[src];
  }
  return {
    batches: { meta: { batches: NB, batch: B, features: F, classes: train.classes, source: dir }, x, y },
    label: `${dir} (first ${Math.min(NB * B, train.count)} of ${train.count} training images)`,
    note,
  };
}

const packageVersion = (name: string): string | null => {
  try {
    return (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
};

interface GemmEntry { shape: string; use: string; gflops: number }
interface GemmResult { backend: string; skipped?: string; shapes?: GemmEntry[]; threads?: number | null }
interface MemoryResult {
  backend: string; skipped?: string; flat?: boolean; steps_per_epoch?: number;
  epochs?: { epoch: number; rss_mb: number; heap_used_mb: number }[];
  warmup_epochs?: number; rss_growth_after_warmup_mb?: number; heap_growth_after_warmup_mb?: number;
  /** Reports before 2026-11-26 (session 5): 3 epochs, growth after the first. */
  rss_growth_after_first_epoch_mb?: number; heap_growth_after_first_epoch_mb?: number;
}

type SystemRun = SystemResult & { load_average_before?: number[] };

/** Ratios of each ridgeline system of one workload over that workload's reference systems. */
function summarize(systems: SystemRun[]) {
  // Ratios: ridgeline samples/s over each reference's samples/s (null when that reference did not run).
  const rate = (name: string) => systems.find((s) => s.name === name && s.samples_per_s !== null)?.samples_per_s ?? null;
  const torchRuns = systems.filter((s) => s.name.startsWith('pytorch-') && s.samples_per_s !== null);
  const torchBest = torchRuns.length ? torchRuns.reduce((a, b) => (b.samples_per_s! > a.samples_per_s! ? b : a)) : null;
  const references = {
    pytorch_best: torchBest ? { name: torchBest.name, samples_per_s: torchBest.samples_per_s } : null,
    tfjs_wasm: rate('tfjs-wasm'),
    tfjs_cpu: rate('tfjs-cpu'),
  };
  const over = (x: number | null, ref: number | null) => (x !== null && ref !== null ? x / ref : null);
  const ratiosFor = (x: number | null): Ratios => ({
    ratio_vs_pytorch_best: over(x, references.pytorch_best?.samples_per_s ?? null),
    ratio_vs_tfjs_wasm: over(x, references.tfjs_wasm),
    ratio_vs_tfjs_cpu: over(x, references.tfjs_cpu),
  });
  const ratios: Record<string, Ratios> = {};
  for (const s of systems) if (s.name.startsWith('ridgeline-') && s.samples_per_s !== null) ratios[shortName(s)] = ratiosFor(s.samples_per_s);
  return { references, ratios, ratiosFor };
}

interface Ratios { ratio_vs_pytorch_best: number | null; ratio_vs_tfjs_wasm: number | null; ratio_vs_tfjs_cpu: number | null }

/** samples/s × FLOPs per example: the model FLOP rate each system sustains over whole steps. */
const effectiveGflops = (systems: SystemRun[], flopsPerSample: number) => Object.fromEntries(systems
  .filter((s) => s.samples_per_s !== null).map((s) => [s.name, (s.samples_per_s! * flopsPerSample) / 1e9]));

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      skip: { type: 'string', multiple: true },
      workload: { type: 'string', default: 'all' },
      out: { type: 'string' },
      render: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write('usage: npm run bench -- [--json] [--quick] [--only <system,...>] [--skip <system,...>] [--workload mlp|cnn|all] [--out report.json]\n' +
      '       npm run bench -- --render report.json   (the table of a saved JSON report; runs nothing)\n' +
      `systems: ${SYSTEMS.map((s) => s.name).join(', ')} (also js, wasm, native, ridgeline, tfjs, pytorch)\n` +
      `workloads: mlp (MLP ${WORKLOAD.sizes.join('-')}), cnn (${CNN_ARCH}); default all\n`);
    return 0;
  }
  if (values.render) {
    const saved = JSON.parse(readFileSync(values.render, 'utf8')) as Report;
    saved.workloads ??= ['mlp']; // reports from before the CNN workload
    saved.cnn ??= null;
    process.stdout.write(renderTable(saved));
    return 0;
  }
  const selected = selectSystems(values.only, values.skip);
  const workloads = selectWorkloads(values.workload);
  const quick = values.quick;
  const quickFlag = quick ? ['--quick'] : [];
  const started = Date.now();

  const machine = {
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.cpus().length,
    available_parallelism: os.availableParallelism(),
    total_memory_gb: os.totalmem() / 2 ** 30,
    load_average_start: os.loadavg(),
    load_average_end: [] as number[],
    versions: {
      node: process.versions.node, v8: process.versions.v8,
      ridgeline: (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version,
      tfjs: packageVersion('@tensorflow/tfjs'), 'tfjs-backend-wasm': packageVersion('@tensorflow/tfjs-backend-wasm'),
    } as Record<string, string | null>,
    mode: quick ? 'quick' : 'full',
    // Every child inherits these. OPENBLAS_CORETYPE decides which kernels OpenBLAS runs for
    // ridgeline-native and for PyTorch's dense layers (its convolutions run on oneDNN, which
    // picks its own ISA): on an AVX-512 CPU 'Haswell' halves OpenBLAS's GEMM speed.
    blas_env: Object.fromEntries(['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS']
      .map((k) => [k, process.env[k] ?? null])) as Record<string, string | null>,
  };
  log(`ridgeline bench (${machine.mode}; ${workloads.join(', ')}): ${machine.cpu}, availableParallelism ${machine.available_parallelism}, ` +
    `load average ${machine.load_average_start.map((l) => l.toFixed(2)).join(' ')}`);

  const loads = new Map<BackendName, LoadResult>((await loadBackends()).map((r) => [r.name, r]));
  const data = await loadData();
  const dir = mkdtempSync(join(os.tmpdir(), 'ridgeline-bench-'));
  const runs: Record<WorkloadName, SystemRun[]> = { mlp: [], cnn: [] };
  const gemm: Record<string, GemmResult> = {};
  const memory: Record<string, MemoryResult> = {};
  let failures = 0;

  /** Every selected system on one workload, one child process at a time. */
  const runSystems = async (workload: WorkloadName): Promise<void> => {
    const systems = runs[workload];
    const tag = workload === 'mlp' ? '' : ` [${workload}]`;
    for (const s of selected) {
      const base = { name: s.name, workload, backend: s.backend, threads: s.threads ?? null, samples_per_s: null };
      if (s.family === 'ridgeline') {
        const r = loads.get(s.backend as BackendName)!;
        if ('error' in r) {
          log(`${s.name}${tag}: skipped (${r.error})`);
          systems.push({ ...base, skipped: r.error });
          continue;
        }
      }
      if (s.family === 'pytorch' && !existsSync(PYTHON)) {
        systems.push({ ...base, skipped: `${PYTHON} not found` });
        continue;
      }
      const timing = timingFor(workload, quick, s.cnnPace);
      const args = ['--workload', workload, ...timingArgs(timing)];
      log(`${s.name}${tag}: running…`);
      const loadBefore = os.loadavg();
      const outcome = s.family === 'pytorch'
        ? await runChild(PYTHON, [TORCH_SCRIPT, '--data', dir, '--threads', String(s.threads), '--name', s.name, ...args, ...quickFlag], s.env)
        : await runChild(process.execPath, nodeWorker(['train', s.family, s.backend, dir, '--name', s.name, ...args, ...quickFlag]), s.env);
      if (outcome.error || !outcome.result) {
        failures++;
        log(`${s.name}${tag}: FAILED (${outcome.error})`);
        systems.push({ ...base, skipped: `failed: ${outcome.error}` });
        continue;
      }
      const r = outcome.result as unknown as SystemResult;
      if (s.note) r.details = { ...r.details, note: s.note };
      // A note where the timing differs from the other systems' (in --quick, only 'slowest' does).
      if (workload === 'cnn' && s.cnnPace && s.cnnPace !== 'normal' && (!quick || s.cnnPace === 'slowest')) {
        const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
        const timed = timing.seconds === 0 ? plural(timing.repetitions, 'timed step') : `${plural(timing.repetitions, 'repetition')} of ≥ ${timing.seconds} s`;
        r.details = {
          ...r.details,
          timing_note: `CNN_TIMING ${quick ? 'quick, ' : ''}${s.cnnPace} (its convolutions are plain JavaScript loops): ${plural(timing.warmupSteps, 'warm-up step')}, ${timed}`,
        };
      }
      systems.push({ ...r, load_average_before: loadBefore });
      log(r.skipped ? `${s.name}${tag}: skipped (${r.skipped})` : `${s.name}${tag}: ${r.samples_per_s!.toFixed(0)} samples/s`);
    }
  };

  try {
    writeBatches(dir, data.batches);
    log(`data: ${data.label}; ${WORKLOAD.batches} batches of ${WORKLOAD.batch} in ${dir}`);
    if (workloads.includes('cnn')) {
      // The CNN as ridgeline parses it, for torch_step.py to build its modules from.
      writeFileSync(join(dir, 'cnn-spec.json'), JSON.stringify({ arch: CNN_ARCH, spec: cnnSpec(), params: CNN_PARAMS }));
    }

    if (workloads.includes('mlp')) {
      await runSystems('mlp');
      // GEMM for every ridgeline system that loads (each with its own environment: threads);
      // memory once per backend. Both are about the MLP's shapes and epochs.
      const ridgelineLoaded = selected.filter((s) => s.family === 'ridgeline' && 'backend' in loads.get(s.backend as BackendName)!);
      for (const s of ridgelineLoaded) {
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
      for (const backend of [...new Set(ridgelineLoaded.map((s) => s.backend))]) {
        log(`memory ${backend}: running…`);
        const outcome = await runChild(process.execPath, nodeWorker(['memory', backend, dir, ...quickFlag], ['--expose-gc']));
        if (outcome.error || !outcome.result) {
          failures++;
          memory[backend] = { backend, skipped: `failed: ${outcome.error}` };
        } else {
          memory[backend] = outcome.result as unknown as MemoryResult;
        }
      }
    }
    if (workloads.includes('cnn')) await runSystems('cnn');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  machine.load_average_end = os.loadavg();
  for (const s of [...runs.mlp, ...runs.cnn]) {
    for (const [k, v] of Object.entries(s.versions ?? {})) machine.versions[k] ??= v;
  }

  const systems = runs.mlp;
  const { references, ratios } = summarize(systems);

  const gemmOut: Record<string, Record<string, number> | { skipped: string }> = {};
  for (const [b, g] of Object.entries(gemm)) {
    gemmOut[b] = g.skipped ? { skipped: g.skipped } : Object.fromEntries(g.shapes!.map((e) => [e.shape, e.gflops]));
  }

  const regularization = (lambdaE: number, what: string, tfWhat: string) =>
    `λ_E = ${lambdaE} on ${what} (ridgeline seed:lambda=${lambdaE}; tfjs l2(${lambdaE}) on ${tfWhat}; PyTorch weight_decay=${2 * lambdaE} on the weight group)`;
  const mlpFlops = trainFlopsPerSample(mlpSpec(WORKLOAD.sizes[0], WORKLOAD.sizes.slice(1, -1), WORKLOAD.sizes[3], 'relu'));
  const rssOf = (list: SystemRun[]) => Object.fromEntries(list.filter((s) => s.peak_rss_mb !== undefined).map((s) => [s.name, s.peak_rss_mb!]));

  let cnn: CnnSection | null = null;
  if (workloads.includes('cnn')) {
    const spec = cnnSpec();
    const flops = trainFlopsPerSample(spec);
    const summary = summarize(runs.cnn);
    cnn = {
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
        flops_per_sample: flops,
        flops_note: 'training step ≈ 3 × forward (2 FLOPs per multiply-accumulate) in the conv and dense layers; BN, ReLU, pooling not counted',
        timing: Object.fromEntries(runs.cnn.map((s) => [s.name, timingFor('cnn', quick, SYSTEMS.find((t) => t.name === s.name)?.cnnPace)])),
        data: data.label,
      },
      systems: runs.cnn,
      references: summary.references,
      ratios: summary.ratios,
      effective_gflops: effectiveGflops(runs.cnn, flops),
      rss: { systems: rssOf(runs.cnn) },
    };
  }

  const report = {
    machine,
    workloads,
    workload: {
      model: `MLP ${WORKLOAD.sizes.join('-')} relu, mean softmax cross-entropy`,
      regularization: regularization(WORKLOAD.lambdaE, 'weights only', 'kernels'),
      optimizer: `SGD momentum ${WORKLOAD.momentum}, lr ${WORKLOAD.lr}`,
      batch: WORKLOAD.batch,
      batches_in_memory: WORKLOAD.batches,
      flops_per_sample: mlpFlops,
      data: data.label,
      ...(data.note ? { data_note: data.note } : {}),
      ...(workloads.includes('mlp') ? {} : { skipped: `not selected (--workload ${values.workload})` }),
    },
    systems,
    references,
    ratios,
    effective_gflops: effectiveGflops(systems, mlpFlops),
    gemm: gemmOut,
    gemm_details: gemm,
    rss: {
      orchestrator_peak_mb: peakRssMb(),
      systems: rssOf(systems),
      note: 'peak RSS of each system\'s own process (VmHWM; Linux getrusage maxRSS/ru_maxrss, kept per system as rusage_max_rss_mb, ' +
        'also counts the parent\'s RSS at fork), including the runtime itself (node + tsx, or python + torch)',
    },
    memory_flat: memory,
    cnn,
    seconds: (Date.now() - started) / 1000,
  };

  if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(renderTable(report));
  return failures > 0 ? 1 : 0;
}

interface CnnSection {
  workload: Record<string, unknown> & { model: string; optimizer: string; batch: number; flops_per_sample: number; regularization: string };
  systems: SystemRun[];
  references: ReturnType<typeof summarize>['references'];
  ratios: Record<string, Ratios>;
  effective_gflops: Record<string, number>;
  rss: { systems: Record<string, number> };
}

// ---- the readable report ------------------------------------------------------------------

type Report = {
  machine: { cpu: string; available_parallelism: number; load_average_start: number[]; load_average_end: number[]; versions: Record<string, string | null>; mode: string; blas_env?: Record<string, string | null> };
  workloads: WorkloadName[];
  workload: Record<string, unknown> & { flops_per_sample: number };
  systems: SystemRun[];
  gemm_details: Record<string, GemmResult>;
  memory_flat: Record<string, MemoryResult>;
  cnn: CnnSection | null;
  seconds: number;
};

function table(header: string[], rows: string[][], rightAlign: (col: number) => boolean): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, c) => (rightAlign(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/** One workload's systems: samples/s, spread, CPU, RSS, model GFLOP/s and the ratios. */
function systemsTable(systems: SystemRun[], flopsPerSample: number): string[] {
  const x = (v: number | null) => (v === null ? '—' : `${v >= 100 ? v.toFixed(0) : v >= 0.1 ? v.toFixed(2) : v.toPrecision(2)}×`);
  /** Samples/s: whole numbers, except below 10 (tfjs-cpu's CNN: under one per second). */
  const sps = (v: number) => (v >= 10 ? v.toFixed(0) : v.toPrecision(2));
  const { references, ratiosFor } = summarize(systems);
  const rows = systems.map((s) => {
    if (s.samples_per_s === null) return [s.name, s.threads === null ? '—' : String(s.threads), `skipped: ${s.skipped}`, '', '', '', '', '', '', ''];
    const reps = s.timing!.repetitions;
    const rates = reps.map((p) => p.samples_per_s);
    const ratios = ratiosFor(s.samples_per_s);
    return [
      s.name, s.threads === null ? '?' : String(s.threads), sps(s.samples_per_s),
      `${sps(Math.min(...rates))}–${sps(Math.max(...rates))} (${reps.length}×, ${reps.reduce((n, p) => n + p.steps, 0)} step${reps.length === 1 && reps[0].steps === 1 ? '' : 's'})`,
      s.timing!.cpu_utilization.toFixed(2),
      s.peak_rss_mb === undefined ? '—' : `${s.peak_rss_mb.toFixed(0)} MB`,
      ((s.samples_per_s * flopsPerSample) / 1e9).toFixed(2),
      x(ratios.ratio_vs_pytorch_best), x(ratios.ratio_vs_tfjs_wasm), x(ratios.ratio_vs_tfjs_cpu),
    ];
  });
  const out = table(
    ['system', 'threads', 'samples/s', 'range (reps, timed steps)', 'CPU util', 'peak RSS', 'model GFLOP/s',
      `vs PyTorch best${references.pytorch_best ? ` (${references.pytorch_best.name})` : ''}`, 'vs tfjs wasm', 'vs tfjs cpu'],
    rows, (c) => c >= 2);
  out.push('  samples/s: median of the repetitions (each ≥ the target time), after a warm-up; CPU util = process CPU time / wall time;',
    `  model GFLOP/s = samples/s × ${(flopsPerSample / 1e6).toFixed(2)} MFLOP per example (3 × forward, conv and dense layers).`);
  for (const s of systems) {
    const d = s.details ?? {};
    if (s.name === 'tfjs-wasm' && s.samples_per_s !== null) out.push(`  tfjs-wasm: SIMD ${d.simd}, multithreading ${d.multithread} (${d.wasm_binary}), threads ${s.threads}`);
    if (typeof d.conv2d_backprop_filter === 'string') out.push(`  ${s.name}: ${d.conv2d_backprop_filter}`);
    if (s.name.startsWith('pytorch-') && s.samples_per_s !== null) {
      const env = d.env as Record<string, string | null>;
      out.push(`  ${s.name}: torch ${s.versions?.torch}, torch.get_num_threads() ${d.torch_num_threads}, ` +
        `${Object.entries(env).filter(([, v]) => v).map(([k, v]) => `${k}=${v}`).join(' ')}, BLAS ${(d.blas_libraries as string[]).map((p) => p.split('/').pop()).join(' ')}`);
    }
    if (typeof d.timing_note === 'string') out.push(`  ${s.name}: ${d.timing_note}`);
  }
  return out;
}

function renderTable(r: Report): string {
  const m = r.machine;
  const out: string[] = [
    '',
    `ridgeline bench (${m.mode}; workloads ${r.workloads.join(', ')})`,
    `  data: ${r.workload.data}${r.workload.data_note ? ` (${r.workload.data_note})` : ''}`,
    `  machine: ${m.cpu}, availableParallelism ${m.available_parallelism}, load average ${m.load_average_start.map((l) => l.toFixed(2)).join(' ')} → ${m.load_average_end.map((l) => l.toFixed(2)).join(' ')}`,
    `  versions: ${Object.entries(m.versions).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  BLAS environment: ${Object.entries(m.blas_env ?? {}).map(([k, v]) => `${k}=${v ?? '(unset)'}`).join(' ')}`,
  ];
  if (r.workloads.includes('mlp')) {
    out.push('', `Workload mlp — ${r.workload.model}; ${r.workload.optimizer}; B = ${r.workload.batch}; ${(r.workload.flops_per_sample / 1e6).toFixed(2)} MFLOP per example per step`,
      `  ${r.workload.regularization}`, '');
    out.push(...systemsTable(r.systems, r.workload.flops_per_sample));
  }

  const backends = Object.keys(r.gemm_details);
  if (backends.length > 0) {
    out.push('', 'GEMM GFLOP/s (ridgeline backends; shapes the MLP\'s Dense layers call at B = 128, then 1024³)');
    const first = backends.map((b) => r.gemm_details[b]).find((g) => g.shapes);
    const shapeRows = (first?.shapes ?? []).map((e) => [e.shape, e.use, ...backends.map((b) => {
      const g = r.gemm_details[b];
      return g.shapes?.find((s) => s.shape === e.shape)?.gflops.toFixed(2) ?? (g.skipped ? 'failed' : '—');
    })]);
    out.push(...table(['op(A)op(B) m×n×k', 'use', ...backends], shapeRows, (c) => c >= 2));
  }

  const mem = Object.values(r.memory_flat);
  if (mem.length > 0) {
    const epochs = mem.find((e) => e.epochs)?.epochs?.length ?? 0;
    out.push('', `Memory over ${epochs} epochs (MLP, Trainer.runEpoch, RSS after a GC)`);
    for (const e of mem) {
      if (e.skipped) { out.push(`  ${e.backend}: ${e.skipped}`); continue; }
      const warmup = e.warmup_epochs ?? 1;
      const rss = e.rss_growth_after_warmup_mb ?? e.rss_growth_after_first_epoch_mb!;
      const heap = e.heap_growth_after_warmup_mb ?? e.heap_growth_after_first_epoch_mb!;
      out.push(`  ${e.backend}: ${e.steps_per_epoch} steps/epoch; RSS ${e.epochs!.map((p) => p.rss_mb.toFixed(1)).join(' → ')} MB, ` +
        `heap ${e.epochs!.map((p) => p.heap_used_mb.toFixed(1)).join(' → ')} MB; growth after epoch ${warmup} ` +
        `${rss.toFixed(1)} MB RSS, ${heap.toFixed(2)} MB heap: ${e.flat ? 'flat' : 'GROWING'}`);
    }
  }

  if (r.cnn) {
    const w = r.cnn.workload;
    out.push('', `Workload cnn — ${w.model}; ${w.optimizer}; B = ${w.batch}`,
      `  ${(w.params as number).toLocaleString('en-US')} trainable parameters; ${((w.forward_macs_per_sample as number) / 1e6).toFixed(2)} M multiply-adds forward, ` +
      `${(w.flops_per_sample / 1e6).toFixed(2)} MFLOP per example per step (≈ 3 × forward)`,
      `  ${w.regularization}`, '');
    out.push(...systemsTable(r.cnn.systems, w.flops_per_sample));
  }
  out.push('', `(${r.seconds.toFixed(0)} s; machine load is not controlled — compare runs on an idle machine)`, '');
  return out.join('\n');
}

try {
  process.exitCode = await main();
} catch (e) {
  if (e instanceof UsageError) {
    log(e.message);
    process.exitCode = 2;
  } else {
    throw e;
  }
}
