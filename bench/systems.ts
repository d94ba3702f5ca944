/**
 * The systems the bench can run (ridgeline's backends, TF.js, the PyTorch configurations of
 * bench/peers.ts), how `--only`/`--skip` pick them, and how one run of one system is started.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import type { BackendName, LoadResult } from '../src/kernels/select.js';
import { PYTHON, TORCH_SCRIPT, UsageError, log, nodeWorker, runChild, type EnvChange } from './child.js';
import { plural, sps } from './format.js';
import { timingArgs, type CnnPace, type SystemResult, type TimingOptions, type WorkloadName } from './common.js';

export interface SystemSpec {
  name: string;
  family: 'ridgeline' | 'tfjs' | 'pytorch';
  backend: string;
  threads?: number;
  /** The child's environment changes (threads, BLAS kernels, allocator). */
  env?: EnvChange;
  note?: string;
  /** How slow its CNN step is (common.ts CNN_TIMING): the JavaScript conv loops get fewer, longer repetitions. */
  cnnPace?: CnnPace;
}

/** One process's result, with the load average just before it started and what it was run for. */
export type SystemRun = SystemResult & {
  load_average_before?: number[];
  /** 'single': the system's own run; 'pair': one side of an interleaved pair; 'screen': the PyTorch configurations' run. */
  role?: 'single' | 'pair' | 'screen';
  /** The PyTorch check (torch_step.py --check-steps). */
  check?: { steps: number; loss: number } | null;
};

export const RIDGELINE_AND_TFJS: SystemSpec[] = [
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
];

const FAMILIES = ['ridgeline', 'tfjs', 'pytorch'];

/** 'ridgeline-native-1t' → 'native-1t': the key of a ridgeline system in `ratios` and `gemm`. */
export const shortName = (s: { name: string }) => s.name.replace(/^ridgeline-/, '');

/**
 * `--only`/`--skip` tokens: a system's name, a ridgeline backend (js, wasm, native), a family
 * (ridgeline, tfjs, pytorch), or the start of PyTorch configurations' names (pytorch-avx512,
 * pytorch-unset-2t).
 */
function systemNames(all: SystemSpec[], option: string, values: string[]): Set<string> {
  const tokens = values.flatMap((o) => o.split(',')).map((t) => t.trim().toLowerCase()).filter(Boolean)
    .map((t) => (t === 'torch' ? 'pytorch' : t));
  const picked = new Set<string>();
  for (const t of tokens) {
    const hits = all.filter((s) => s.name === t || s.name === `ridgeline-${t}` || (FAMILIES.includes(t) && s.family === t) ||
      (t.startsWith('pytorch-') && s.name.startsWith(`${t}-`)));
    if (hits.length === 0) {
      throw new UsageError(`${option}: unknown system '${t}' (systems: ${all.map((s) => s.name).join(', ')}; ` +
        'also js, wasm, native, ridgeline, tfjs, pytorch, and the start of a PyTorch name such as pytorch-avx512)');
    }
    for (const h of hits) picked.add(h.name);
  }
  return picked;
}

export function selectSystems(all: SystemSpec[], only: string[] | undefined, skip: string[] | undefined): SystemSpec[] {
  const picked = only && only.length > 0 ? systemNames(all, '--only', only) : new Set(all.map((s) => s.name));
  const dropped = skip && skip.length > 0 ? systemNames(all, '--skip', skip) : new Set<string>();
  return all.filter((s) => picked.has(s.name) && !dropped.has(s.name));
}

/** What every run of a bench invocation shares. */
export interface RunContext {
  /** The batch directory (bench/data.ts). */
  dir: string;
  quick: boolean;
  /** Which ridgeline backends load in this process (a child would fail the same way). */
  loads: Map<BackendName, LoadResult>;
}

/**
 * One run of one system in its own process. A system that cannot run here (its backend does
 * not load, no python3) comes back `skipped`; one whose process fails comes back `skipped`
 * with `failed: …` and `failed` true.
 */
export async function runSystem(
  s: SystemSpec, ctx: RunContext, workload: WorkloadName, timing: TimingOptions, role: SystemRun['role'], extraArgs: string[] = [],
): Promise<{ run: SystemRun; failed: boolean }> {
  const tag = workload === 'mlp' ? '' : ` [${workload}]`;
  const base = { name: s.name, workload, backend: s.backend, threads: s.threads ?? null, samples_per_s: null, role };
  if (s.family === 'ridgeline') {
    const r = ctx.loads.get(s.backend as BackendName)!;
    if ('error' in r) return { run: { ...base, skipped: r.error }, failed: false };
  }
  if (s.family === 'pytorch' && !existsSync(PYTHON)) return { run: { ...base, skipped: `${PYTHON} not found` }, failed: false };
  const args = ['--workload', workload, ...timingArgs(timing), ...extraArgs, ...(ctx.quick ? ['--quick'] : [])];
  const loadBefore = os.loadavg();
  const outcome = s.family === 'pytorch'
    ? await runChild(PYTHON, [TORCH_SCRIPT, '--data', ctx.dir, '--threads', String(s.threads), '--name', s.name, ...args], s.env)
    : await runChild(process.execPath, nodeWorker(['train', s.family, s.backend, ctx.dir, '--name', s.name, ...args]), s.env);
  if (outcome.error || !outcome.result) {
    log(`${s.name}${tag}: FAILED (${outcome.error})`);
    return { run: { ...base, skipped: `failed: ${outcome.error}` }, failed: true };
  }
  const r = { ...(outcome.result as unknown as SystemRun), role, load_average_before: loadBefore };
  if (s.note) r.details = { ...r.details, note: s.note };
  // A note where the timing differs from the other systems' (in --quick, only 'slowest' does).
  if (workload === 'cnn' && s.cnnPace && s.cnnPace !== 'normal' && (!ctx.quick || s.cnnPace === 'slowest')) {
    const timed = timing.seconds === 0 ? plural(timing.repetitions, 'timed step') : `${plural(timing.repetitions, 'repetition')} of ≥ ${timing.seconds} s`;
    r.details = {
      ...r.details,
      timing_note: `CNN_TIMING ${ctx.quick ? 'quick, ' : ''}${s.cnnPace} (its convolutions are plain JavaScript loops): ${plural(timing.warmupSteps, 'warm-up step')}, ${timed}`,
    };
  }
  if (r.skipped) log(`${s.name}${tag}: skipped (${r.skipped})`);
  else if (r.samples_per_s !== null) log(`${s.name}${tag}${role === 'single' ? '' : ` (${role})`}: ${sps(r.samples_per_s)} samples/s`);
  return { run: r, failed: false };
}
