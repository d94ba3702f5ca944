/**
 * Node's entry to the WASM backend: the same backend as ./index.ts with its GEMM threads made
 * by `node:worker_threads` (Node-only, so kept out of the browser-capable ./index.ts and
 * ./threads.ts). `select-node.ts` loads the wasm backend through here, so `--backend wasm` and
 * `auto` run on min(2, available cores) threads (RIDGELINE_WASM_THREADS=N overrides that) and
 * with relaxed SIMD also on Node 20 (RIDGELINE_WASM_VARIANT=simd128 keeps plain SIMD).
 */
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { loadWasmBackend, type SpawnWasmWorker, type WasmBackend, type WasmLoadOptions, type WasmVariant } from './index.js';

const VARIANTS = ['auto', 'relaxed-simd', 'simd128'] as const;

/** RIDGELINE_WASM_VARIANT when set (auto, relaxed-simd or simd128), else 'auto'. */
export function defaultWasmVariant(): 'auto' | WasmVariant {
  const env = process.env.RIDGELINE_WASM_VARIANT;
  if (env === undefined || env === '') return 'auto';
  if (!(VARIANTS as readonly string[]).includes(env)) throw new Error(`RIDGELINE_WASM_VARIANT must be one of ${VARIANTS.join(', ')}, got '${env}'`);
  return env as 'auto' | WasmVariant;
}

/**
 * Lets this process's WebAssembly use relaxed SIMD where V8 has it only behind a flag: V8 11.3
 * (Node 20) implements the finished proposal but validates its opcodes only with
 * --experimental-wasm-relaxed-simd; V8 ≥ 11.4 (Chromium 114, Node 22) has it on by default, so
 * nothing is set there (an unknown flag would print a warning). Why: `f32x4.relaxed_madd` is
 * one FMA instruction where SIMD128 needs a multiply and an add, and the GEMM kernel runs
 * 15–20% faster with it on this machine (wasm/README.md). The flag only widens what the
 * validator accepts; V8 flags are process-wide, so workers started later see it too. Results
 * differ from SIMD128 in rounding only (fused multiply-add), within the kernel tests' tolerance.
 */
export function allowRelaxedSimd(): void {
  const [major, minor] = process.versions.v8.split('.').map(Number);
  if (major === 11 && minor === 3) setFlagsFromString('--experimental-wasm-relaxed-simd');
}

/** min(2, available cores), or RIDGELINE_WASM_THREADS when set. */
export function defaultWasmThreads(): number {
  const env = process.env.RIDGELINE_WASM_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!(Number.isInteger(n) && n >= 1 && n <= 64)) throw new Error(`RIDGELINE_WASM_THREADS must be an integer in [1, 64], got '${env}'`);
    return n;
  }
  return Math.min(2, availableParallelism());
}

/**
 * The worker script next to this module: node-worker.js in dist/, node-worker.ts when running
 * the sources under tsx. A worker does not inherit tsx's loader hooks (Node 20), so the .ts
 * script is started through a one-line bootstrap that registers tsx first.
 */
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './node-worker.ts' : './node-worker.js', import.meta.url);

/**
 * No Node options from the parent (execArgv: []): some do not apply to a worker script (e.g.
 * --input-type with -e), and the ones that matter here are V8 flags, which are process-wide
 * (--experimental-wasm-relaxed-simd), or are given explicitly (tsx).
 */
function startWorker(): Worker {
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL, { execArgv: [] });
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
  return new Worker(bootstrap, { eval: true, execArgv: [] });
}

/** Spawns one `worker_threads` worker that never keeps the process alive (unref). */
export const spawnNodeWasmWorker: SpawnWasmWorker = () => {
  const worker = startWorker();
  worker.unref();
  return {
    postMessage: (m) => worker.postMessage(m),
    listen(onMessage, onExit) {
      worker.on('message', onMessage);
      worker.on('error', (e) => onExit(`worker error: ${String((e as Error)?.message ?? e).split('\n')[0]}`));
      worker.on('exit', (code) => onExit(`worker exited (code ${code})`));
      worker.unref(); // again: a 'message' listener re-refs the worker's port
    },
    terminate: () => { void worker.terminate(); },
  };
};

/**
 * loadWasmBackend with Node worker threads (min(2, cores) of them unless `threads` says
 * otherwise) and relaxed SIMD allowed on Node 20 unless the variant asked for is SIMD128.
 */
export function loadNodeWasmBackend(options: WasmLoadOptions = {}): Promise<WasmBackend> {
  const threads = options.threads ?? defaultWasmThreads();
  const variant = options.variant ?? defaultWasmVariant();
  if (variant !== 'simd128') allowRelaxedSimd();
  return loadWasmBackend({ spawnWorker: spawnNodeWasmWorker, ...options, threads, variant });
}
