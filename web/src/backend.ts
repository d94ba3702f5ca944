/**
 * The one place the page gets its backend: the wasm backend, in the worker that trains, with a
 * second thread where the page is cross-origin isolated (the GEMM worker is kernel-worker.ts,
 * bundled by Vite). When the library exports `selectBackend` for browsers, this module is what
 * changes.
 */
import type { Backend } from '../../src/kernels/backend.js';
import { loadWasmBackend, webWorkerSpawner } from '../../src/kernels/wasm/index.js';
import kernelWorker from './kernel-worker.ts?worker&url';

export interface LoadedBackend {
  backend: Backend;
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
  const backend = await loadWasmBackend({ threads: n, ...(n > 1 ? { spawnWorker: webWorkerSpawner(new URL(kernelWorker, import.meta.url), { type: 'module' }) } : {}) });
  return { backend, label: `wasm (${backend.variant}) on ${backend.threads} thread${backend.threads === 1 ? '' : 's'}`, threads: backend.threads, dispose: () => backend.dispose() };
}
