/**
 * Loading the backend: the variant the runtime validates, the thread count, the embedded
 * module bytes, and the workers of the threaded build.
 */
import { CONTROL_BYTES, KernelThreads, type ChunkPolicy, type SpawnWasmWorker, type WasmWorkerInit, type WasmWorkerReply } from './threads.js';
import { createBackend } from './create-backend.js';
import { MAX_PAGES, PAGE, PARALLEL_GEMM_FLOPS, regionBytes, type KernelExports, type WasmBackend, type WasmVariant } from './module.js';

/** Knobs of the threaded GEMM (defaults measured; see wasm/README.md). */
export interface WasmThreadTuning extends ChunkPolicy {
  /** GEMMs below this many flops stay on the calling thread. */
  parallelMinFlops: number;
  /**
   * µs a worker spins after a job before it sleeps (the next one of a step usually follows),
   * and the caller spins for the workers' last blocks before it blocks in Atomics.wait.
   */
  spinMicros: number;
}

export const DEFAULT_THREAD_TUNING: WasmThreadTuning = {
  parallelMinFlops: PARALLEL_GEMM_FLOPS, spinMicros: 200, minColumns: 128, minRows: 64, chunksPerThread: 4,
};

export interface WasmLoadOptions {
  /** 'auto' (default): relaxed SIMD where the runtime validates it, else SIMD128. */
  variant?: 'auto' | WasmVariant;
  /**
   * Threads for large GEMMs, the calling thread included. Default: 1 without `spawnWorker` or
   * without SharedArrayBuffer; else min(2, navigator.hardwareConcurrency) (Node's entry passes
   * min(2, cores)). More than 1 needs `spawnWorker` and SharedArrayBuffer (in browsers: a
   * cross-origin-isolated page), or the load rejects.
   */
  threads?: number;
  /** Starts one worker that runs `runWasmWorker` (Node: src/kernels/wasm/node.ts; browsers: `webWorkerSpawner`). */
  spawnWorker?: SpawnWasmWorker;
  /** A GEMM whose worker makes no progress for this long fails with an error (a crashed or stuck worker). Default 10 000 ms. */
  timeoutMs?: number;
  /** Tuning of the threaded GEMM (benchmarks and tests). */
  tuning?: Partial<WasmThreadTuning>;
  /**
   * false: on one thread, the module that owns its memory (no `alloc`; every call copies), as
   * where SharedArrayBuffer is missing. Default: a shared memory where there is one.
   */
  sharedMemory?: boolean;
}

interface EmbeddedModules {
  SIMD_WASM_BASE64: string; RELAXED_WASM_BASE64: string; SIMD_SHARED_WASM_BASE64: string; RELAXED_SHARED_WASM_BASE64: string;
  KERNEL_OPTIONS: { mr: number; nr: number };
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Loads the backend, or throws an Error whose first line says why not (no WebAssembly, no SIMD,
 * or the generated module missing: "run npm run build").
 */
export async function loadWasmBackend(options: WasmLoadOptions = {}): Promise<WasmBackend> {
  if (typeof WebAssembly !== 'object') throw new Error('this runtime has no WebAssembly');
  let embedded: EmbeddedModules;
  try {
    embedded = await import('./kernels-wasm.js');
  } catch {
    throw new Error('the WASM kernels are not built (src/kernels/wasm/kernels-wasm.ts is missing: run npm run build)');
  }
  const simd = decodeBase64(embedded.SIMD_WASM_BASE64);
  if (!WebAssembly.validate(simd)) throw new Error('this runtime does not support WebAssembly SIMD (128-bit)');
  const relaxed = decodeBase64(embedded.RELAXED_WASM_BASE64);
  const relaxedOk = WebAssembly.validate(relaxed);
  const want = options.variant ?? 'auto';
  if (want === 'relaxed-simd' && !relaxedOk) {
    throw new Error('this runtime does not support WebAssembly relaxed SIMD (Node 20: --experimental-wasm-relaxed-simd)');
  }
  const variant: WasmVariant = want === 'simd128' ? 'simd128' : relaxedOk ? 'relaxed-simd' : 'simd128';
  // The default falls back to one thread where SharedArrayBuffer is missing (a browser page
  // that is not cross-origin isolated); an explicit `threads` > 1 there is an error.
  const sharedOk = typeof SharedArrayBuffer === 'function';
  const threads = options.threads ?? (options.spawnWorker && sharedOk ? Math.min(2, globalThis.navigator?.hardwareConcurrency ?? 2) : 1);
  if (!(Number.isInteger(threads) && threads >= 1 && threads <= 64)) throw new RangeError(`wasm threads must be an integer in [1, 64], got ${threads}`);
  // One thread over a shared memory where the runtime has one, for the zero-copy buffers
  // (`alloc`); else the module that owns its memory, and every call copies.
  if (threads === 1 && (!sharedOk || options.sharedMemory === false)) return instantiateWasmBackend(variant === 'relaxed-simd' ? relaxed : simd, variant);
  const shared = decodeBase64(variant === 'relaxed-simd' ? embedded.RELAXED_SHARED_WASM_BASE64 : embedded.SIMD_SHARED_WASM_BASE64);
  return instantiateThreadedWasmBackend(shared, variant, { ...options, threads, tile: embedded.KERNEL_OPTIONS });
}

/** A single-threaded backend over given module bytes (the build's, or a variant made by wasm/bench.ts --tune). */
export async function instantiateWasmBackend(bytes: Uint8Array<ArrayBuffer>, variant: WasmVariant): Promise<WasmBackend> {
  const { instance } = await WebAssembly.instantiate(bytes, {});
  const ex = instance.exports as unknown as KernelExports;
  return createBackend(ex, ex.memory, variant, { work: 64 }); // the gemm scratch (tile + packed panels) after 64 bytes
}

export interface ThreadedInstantiation extends Omit<WasmLoadOptions, 'variant'> {
  threads: number;
  spawnWorker?: SpawnWasmWorker;
  /** The micro-kernel tile the module was built with (chunks of C are cut at its multiples). */
  tile: { mr: number; nr: number };
}

/** Worker start-up (compiling this package's worker script under tsx can take seconds on a loaded machine). */
const READY_TIMEOUT_MS = 120_000;

/**
 * A backend over the shared-memory build of the module (wasm/generate.ts 'shared'), running
 * large GEMMs on `threads` threads: this one and threads − 1 workers from `spawnWorker`.
 */
export async function instantiateThreadedWasmBackend(bytes: Uint8Array<ArrayBuffer>, variant: WasmVariant, o: ThreadedInstantiation): Promise<WasmBackend> {
  const { threads, spawnWorker } = o;
  if (threads > 1 && !spawnWorker) throw new Error(`wasm threads = ${threads} needs a worker spawner (loadWasmBackend({ spawnWorker }))`);
  if (typeof SharedArrayBuffer !== 'function') {
    throw new Error('wasm threads need SharedArrayBuffer, which this runtime does not offer (browsers: only cross-origin-isolated pages, COOP/COEP headers)');
  }
  const tuning = { ...DEFAULT_THREAD_TUNING, ...o.tuning };
  const module = await WebAssembly.compile(bytes);
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
  } catch (e) {
    throw new Error(`wasm threads: could not create a shared WebAssembly.Memory (${(e as Error).message})`);
  }
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const ex = instance.exports as unknown as KernelExports;
  const workRegion = regionBytes(ex.gemm_work_bytes() / 4);
  const workOf = (t: number) => CONTROL_BYTES + t * workRegion;
  const dataStart = workOf(threads);
  memory.grow(Math.ceil(Math.max(0, dataStart + PAGE - memory.buffer.byteLength) / PAGE));

  const workers: ReturnType<SpawnWasmWorker>[] = [];
  let pool: KernelThreads | undefined;
  const ready = Promise.all(Array.from({ length: threads - 1 }, (_, i) => new Promise<void>((resolve, reject) => {
    const index = i + 1;
    const worker = spawnWorker!();
    workers.push(worker);
    worker.listen((data) => {
      const reply = data as WasmWorkerReply;
      if (reply?.type === 'ready') resolve();
      else if (reply?.type === 'error') { reject(new Error(reply.message)); pool?.fail(reply.message); }
    }, (reason) => {
      const why = `worker thread ${index}: ${reason}`;
      reject(new Error(why));
      pool?.fail(why);
    });
    const init: WasmWorkerInit = { type: 'ridgeline-wasm-init', module, memory, index, work: workOf(index), spinMicros: tuning.spinMicros };
    worker.postMessage(init);
  })));
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([ready, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`wasm threads: the workers did not start within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
    })]);
  } catch (e) {
    for (const w of workers) { try { w.terminate(); } catch { /* gone */ } }
    throw new Error(`wasm threads: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    clearTimeout(timer);
  }
  if (threads > 1) pool = new KernelThreads(memory, ex, workOf(0), workers, o.timeoutMs ?? 10_000, tuning, o.tile, tuning.spinMicros);
  return createBackend(ex, memory, variant, {
    work: workOf(0), data: dataStart, pool, parallelMinFlops: tuning.parallelMinFlops,
  });
}
