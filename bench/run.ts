/**
 * `npm run bench [-- --json] [-- --quick] [-- --only js,tfjs-wasm,pytorch] [-- --out report.json]`
 *
 * Training throughput of ridgeline (each kernel backend that loads), TensorFlow.js (cpu and
 * wasm backends) and PyTorch 1.13 (1 and 2 threads) on one workload (bench/common.ts WORKLOAD:
 * MLP 784-256-256-10, ReLU, mean softmax CE + λ_E·Σw² on the weights with λ_E = 1e-4, SGD with
 * momentum 0.9 at lr 0.05, B = 128) and the same 50 pre-loaded batches of Fashion-MNIST; then
 * GEMM GFLOP/s of each ridgeline backend at the shapes its Dense layers call, and RSS over three
 * short epochs (does memory stay flat?).
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
import { loadBackends, type BackendName, type LoadResult } from '../src/kernels/select.js';
import { DEBIAN_FASHION_MNIST, loadIdxDirectory, resolveDataSource } from '../src/node/datasets.js';
import { REPO_ROOT, WORKLOAD, writeBatches, peakRssMb, type Batches, type SystemResult } from './common.js';

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
}

const torchThreads = (n: number): Record<string, string> => ({
  OMP_NUM_THREADS: String(n), OPENBLAS_NUM_THREADS: String(n), MKL_NUM_THREADS: String(n),
});

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
  { name: 'ridgeline-js', family: 'ridgeline', backend: 'js' },
  { name: 'tfjs-cpu', family: 'tfjs', backend: 'cpu' },
  { name: 'tfjs-wasm', family: 'tfjs', backend: 'wasm' },
  { name: 'pytorch-1t', family: 'pytorch', backend: 'cpu', threads: 1, env: torchThreads(1) },
  { name: 'pytorch-2t', family: 'pytorch', backend: 'cpu', threads: 2, env: torchThreads(2) },
  {
    name: 'pytorch-2t-passive', family: 'pytorch', backend: 'cpu', threads: 2,
    env: { ...torchThreads(2), OMP_WAIT_POLICY: 'PASSIVE' },
    note: 'OMP_WAIT_POLICY=PASSIVE: idle OpenMP workers sleep instead of spinning next to OpenBLAS\'s own threads',
  },
];

const GROUPS = ['ridgeline', 'tfjs', 'pytorch'];

/** 'ridgeline-native-1t' → 'native-1t': the key of a ridgeline system in `ratios` and `gemm`. */
const shortName = (s: { name: string }) => s.name.replace(/^ridgeline-/, '');

/** `--only` tokens: a system's name, a ridgeline backend (js, wasm, native), or a family (ridgeline, tfjs, pytorch). */
function selectSystems(only: string[] | undefined): SystemSpec[] {
  if (!only || only.length === 0) return SYSTEMS;
  const tokens = only.flatMap((o) => o.split(',')).map((t) => t.trim().toLowerCase()).filter(Boolean)
    .map((t) => (t === 'torch' ? 'pytorch' : t));
  const picked = new Set<string>();
  for (const t of tokens) {
    const hits = SYSTEMS.filter((s) => s.name === t || s.name === `ridgeline-${t}` || (GROUPS.includes(t) && s.family === t));
    if (hits.length === 0) {
      throw new UsageError(`--only: unknown system '${t}' (systems: ${SYSTEMS.map((s) => s.name).join(', ')}; ` +
        `also js, wasm, native, ridgeline, tfjs, pytorch)`);
    }
    for (const h of hits) picked.add(h.name);
  }
  return SYSTEMS.filter((s) => picked.has(s.name));
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
  rss_growth_after_first_epoch_mb?: number; heap_growth_after_first_epoch_mb?: number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write('usage: npm run bench -- [--json] [--quick] [--only <system,...>] [--out report.json]\n' +
      `systems: ${SYSTEMS.map((s) => s.name).join(', ')} (also js, wasm, native, ridgeline, tfjs, pytorch)\n`);
    return 0;
  }
  const selected = selectSystems(values.only);
  const quickFlag = values.quick ? ['--quick'] : [];
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
    mode: values.quick ? 'quick' : 'full',
  };
  log(`ridgeline bench (${machine.mode}): ${machine.cpu}, availableParallelism ${machine.available_parallelism}, ` +
    `load average ${machine.load_average_start.map((l) => l.toFixed(2)).join(' ')}`);

  const loads = new Map<BackendName, LoadResult>((await loadBackends()).map((r) => [r.name, r]));
  const data = await loadData();
  const dir = mkdtempSync(join(os.tmpdir(), 'ridgeline-bench-'));
  const systems: (SystemResult & { load_average_before?: number[] })[] = [];
  const gemm: Record<string, GemmResult> = {};
  const memory: Record<string, MemoryResult> = {};
  let failures = 0;
  try {
    writeBatches(dir, data.batches);
    log(`data: ${data.label}; ${WORKLOAD.batches} batches of ${WORKLOAD.batch} in ${dir}`);

    for (const s of selected) {
      const base = { name: s.name, backend: s.backend, threads: s.threads ?? null, samples_per_s: null };
      if (s.family === 'ridgeline') {
        const r = loads.get(s.backend as BackendName)!;
        if ('error' in r) {
          log(`${s.name}: skipped (${r.error})`);
          systems.push({ ...base, skipped: r.error });
          continue;
        }
      }
      if (s.family === 'pytorch' && !existsSync(PYTHON)) {
        systems.push({ ...base, skipped: `${PYTHON} not found` });
        continue;
      }
      log(`${s.name}: running…`);
      const loadBefore = os.loadavg();
      const outcome = s.family === 'pytorch'
        ? await runChild(PYTHON, [TORCH_SCRIPT, '--data', dir, '--threads', String(s.threads), '--name', s.name, ...quickFlag], s.env)
        : await runChild(process.execPath, nodeWorker(['train', s.family, s.backend, dir, '--name', s.name, ...quickFlag]), s.env);
      if (outcome.error || !outcome.result) {
        failures++;
        log(`${s.name}: FAILED (${outcome.error})`);
        systems.push({ ...base, skipped: `failed: ${outcome.error}` });
        continue;
      }
      const r = outcome.result as unknown as SystemResult;
      if (s.note) r.details = { ...r.details, note: s.note };
      systems.push({ ...r, load_average_before: loadBefore });
      log(r.skipped ? `${s.name}: skipped (${r.skipped})` : `${s.name}: ${r.samples_per_s!.toFixed(0)} samples/s`);
    }

    // GEMM for every ridgeline system that loads (each with its own environment: threads);
    // memory once per backend.
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
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  machine.load_average_end = os.loadavg();
  for (const s of systems) {
    for (const [k, v] of Object.entries(s.versions ?? {})) machine.versions[k] ??= v;
  }

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
  const ratiosFor = (x: number | null) => ({
    ratio_vs_pytorch_best: over(x, references.pytorch_best?.samples_per_s ?? null),
    ratio_vs_tfjs_wasm: over(x, references.tfjs_wasm),
    ratio_vs_tfjs_cpu: over(x, references.tfjs_cpu),
  });
  const ratios: Record<string, ReturnType<typeof ratiosFor>> = {};
  for (const s of systems) if (s.name.startsWith('ridgeline-') && s.samples_per_s !== null) ratios[shortName(s)] = ratiosFor(s.samples_per_s);

  const gemmOut: Record<string, Record<string, number> | { skipped: string }> = {};
  for (const [b, g] of Object.entries(gemm)) {
    gemmOut[b] = g.skipped ? { skipped: g.skipped } : Object.fromEntries(g.shapes!.map((e) => [e.shape, e.gflops]));
  }

  const report = {
    machine,
    workload: {
      model: `MLP ${WORKLOAD.sizes.join('-')} relu, mean softmax cross-entropy`,
      regularization: `λ_E = ${WORKLOAD.lambdaE} on weights only (ridgeline seed:lambda=${WORKLOAD.lambdaE}; tfjs l2(${WORKLOAD.lambdaE}) on kernels; PyTorch weight_decay=${2 * WORKLOAD.lambdaE} on the weight group)`,
      optimizer: `SGD momentum ${WORKLOAD.momentum}, lr ${WORKLOAD.lr}`,
      batch: WORKLOAD.batch,
      batches_in_memory: WORKLOAD.batches,
      data: data.label,
      ...(data.note ? { data_note: data.note } : {}),
    },
    systems,
    references,
    ratios,
    gemm: gemmOut,
    gemm_details: gemm,
    rss: {
      orchestrator_peak_mb: peakRssMb(),
      systems: Object.fromEntries(systems.filter((s) => s.peak_rss_mb !== undefined).map((s) => [s.name, s.peak_rss_mb!])),
      note: 'peak RSS of each system\'s own process (VmHWM; Linux getrusage maxRSS/ru_maxrss, kept per system as rusage_max_rss_mb, ' +
        'also counts the parent\'s RSS at fork), including the runtime itself (node + tsx, or python + torch)',
    },
    memory_flat: memory,
    seconds: (Date.now() - started) / 1000,
  };

  if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(renderTable(report, ratiosFor));
  return failures > 0 ? 1 : 0;
}

// ---- the readable report ------------------------------------------------------------------

type Report = {
  machine: { cpu: string; available_parallelism: number; load_average_start: number[]; load_average_end: number[]; versions: Record<string, string | null>; mode: string };
  workload: Record<string, unknown>;
  systems: (SystemResult & { load_average_before?: number[] })[];
  references: { pytorch_best: { name: string } | null };
  gemm_details: Record<string, GemmResult>;
  memory_flat: Record<string, MemoryResult>;
  seconds: number;
};

function table(header: string[], rows: string[][], rightAlign: (col: number) => boolean): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, c) => (rightAlign(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

function renderTable(r: Report, ratiosFor: (x: number | null) => Record<string, number | null>): string {
  const x = (v: number | null) => (v === null ? '—' : `${v.toFixed(2)}×`);
  const m = r.machine;
  const out: string[] = [
    '',
    `ridgeline bench (${m.mode}) — ${r.workload.model}; ${r.workload.optimizer}; B = ${r.workload.batch}`,
    `  ${r.workload.regularization}`,
    `  data: ${r.workload.data}${r.workload.data_note ? ` (${r.workload.data_note})` : ''}`,
    `  machine: ${m.cpu}, availableParallelism ${m.available_parallelism}, load average ${m.load_average_start.map((l) => l.toFixed(2)).join(' ')} → ${m.load_average_end.map((l) => l.toFixed(2)).join(' ')}`,
    `  versions: ${Object.entries(m.versions).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    '',
  ];
  const rows = r.systems.map((s) => {
    if (s.samples_per_s === null) return [s.name, s.threads === null ? '—' : String(s.threads), `skipped: ${s.skipped}`, '', '', '', '', '', ''];
    const reps = s.timing!.repetitions.map((p) => p.samples_per_s);
    const ratios = ratiosFor(s.samples_per_s);
    return [
      s.name, s.threads === null ? '?' : String(s.threads), s.samples_per_s.toFixed(0),
      `${Math.min(...reps).toFixed(0)}–${Math.max(...reps).toFixed(0)}`, s.timing!.cpu_utilization.toFixed(2),
      s.peak_rss_mb === undefined ? '—' : `${s.peak_rss_mb.toFixed(0)} MB`,
      x(ratios.ratio_vs_pytorch_best), x(ratios.ratio_vs_tfjs_wasm), x(ratios.ratio_vs_tfjs_cpu),
    ];
  });
  out.push(...table(
    ['system', 'threads', 'samples/s', 'range (3 reps)', 'CPU util', 'peak RSS', `vs PyTorch best${r.references.pytorch_best ? ` (${r.references.pytorch_best.name})` : ''}`, 'vs tfjs wasm', 'vs tfjs cpu'],
    rows, (c) => c >= 2));
  out.push('  samples/s: median of 3 repetitions of ≥ the target time each, after a warm-up; CPU util = process CPU time / wall time.');
  for (const s of r.systems) {
    const d = s.details ?? {};
    if (s.name === 'tfjs-wasm' && s.samples_per_s !== null) out.push(`  tfjs-wasm: SIMD ${d.simd}, multithreading ${d.multithread} (${d.wasm_binary}), threads ${s.threads}`);
    if (s.name.startsWith('pytorch-') && s.samples_per_s !== null) {
      const env = d.env as Record<string, string | null>;
      out.push(`  ${s.name}: torch ${s.versions?.torch}, torch.get_num_threads() ${d.torch_num_threads}, ` +
        `${Object.entries(env).filter(([, v]) => v).map(([k, v]) => `${k}=${v}`).join(' ')}, BLAS ${(d.blas_libraries as string[]).map((p) => p.split('/').pop()).join(' ')}`);
    }
  }

  const backends = Object.keys(r.gemm_details);
  if (backends.length > 0) {
    out.push('', 'GEMM GFLOP/s (ridgeline backends; shapes the Dense layers call at B = 128, then 1024³)');
    const first = backends.map((b) => r.gemm_details[b]).find((g) => g.shapes);
    const shapeRows = (first?.shapes ?? []).map((e) => [e.shape, e.use, ...backends.map((b) => {
      const g = r.gemm_details[b];
      return g.shapes?.find((s) => s.shape === e.shape)?.gflops.toFixed(2) ?? (g.skipped ? 'failed' : '—');
    })]);
    out.push(...table(['op(A)op(B) m×n×k', 'use', ...backends], shapeRows, (c) => c >= 2));
  }

  const mem = Object.values(r.memory_flat);
  if (mem.length > 0) {
    out.push('', 'Memory over 3 epochs (Trainer.runEpoch, RSS after a GC)');
    for (const e of mem) {
      if (e.skipped) { out.push(`  ${e.backend}: ${e.skipped}`); continue; }
      out.push(`  ${e.backend}: ${e.steps_per_epoch} steps/epoch; RSS ${e.epochs!.map((p) => p.rss_mb.toFixed(1)).join(' → ')} MB, ` +
        `heap ${e.epochs!.map((p) => p.heap_used_mb.toFixed(1)).join(' → ')} MB; growth after epoch 1 ` +
        `${e.rss_growth_after_first_epoch_mb!.toFixed(1)} MB RSS, ${e.heap_growth_after_first_epoch_mb!.toFixed(2)} MB heap: ${e.flat ? 'flat' : 'GROWING'}`);
    }
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
