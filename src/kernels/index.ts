/**
 * kernels/: the numeric seam (see backend.ts) and its implementations. Knows nothing of
 * layers or training; imports nothing from the rest of ridgeline.
 */
export type { Backend, ConvGeometry, PoolGeometry } from './backend.js';
export { jsBackend } from './js/index.js';
export * from './optimizer-ops.js';
export {
  loadWasmBackend, webWorkerSpawner, runWasmWorker,
  type WasmBackend, type WasmLoadOptions, type WasmVariant, type SpawnWasmWorker, type WasmWorkerHandle, type WasmWorkerInit,
} from './wasm/index.js';
export {
  BACKEND_CHOICES, backendThreads,
  type BackendName, type BackendChoice, type BackendOptions, type LoadResult,
} from './select.js';
