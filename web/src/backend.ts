/**
 * The one place the page gets its backend: the library's `selectBackend('wasm')`, in the worker
 * that trains, with a second thread where the page is cross-origin isolated. The GEMM worker is
 * the package's own script (src/kernels/wasm/web-worker.ts), which Vite bundles through the
 * `?worker&url` import and the library starts from `wasm.workerUrl`.
 */
import { selectBackend } from '../../src/index.js';
import type { WasmBackend } from '../../src/kernels/wasm/index.js';
import kernelWorker from '../../src/kernels/wasm/web-worker.ts?worker&url';

export interface LoadedBackend {
  backend: WasmBackend;
  /** e.g. "wasm (relaxed-simd) on 2 threads". */
  label: string;
  threads: number;
  dispose(): void;
}

/** Threads the wasm GEMMs can use here: 2 in a cross-origin-isolated page on a machine with 2 cores or more, else 1. */
export function maxThreads(): number {
  return globalThis.crossOriginIsolated ? Math.max(1, Math.min(2, navigator.hardwareConcurrency || 1)) : 1;
}

export async function loadBackend(threads: number): Promise<LoadedBackend> {
  const n = Math.max(1, Math.min(threads, maxThreads()));
  const backend = await selectBackend('wasm', { wasm: { threads: n, workerUrl: new URL(kernelWorker, import.meta.url) } }) as WasmBackend;
  return { backend, label: `wasm (${backend.variant}) on ${backend.threads} thread${backend.threads === 1 ? '' : 's'}`, threads: backend.threads, dispose: () => backend.dispose() };
}
