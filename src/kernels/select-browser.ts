/**
 * Backend selection in browsers and Web Workers: `auto` is wasm, then js. The wasm backend runs
 * its large GEMMs on two threads where the page is cross-origin isolated (SharedArrayBuffer;
 * COOP/COEP headers, docs/library.md), the second in a module Worker running
 * ./wasm/web-worker.ts; elsewhere on one. If the worker does not start (a bundler that did not
 * emit it, a 404), wasm falls back to one thread and says so through `onNotice`.
 */
import type { Backend } from './backend.js';
import { jsBackend } from './js/index.js';
import { backendSelector, type BackendOptions } from './select.js';
import type { SpawnWasmWorker } from './wasm/index.js';

/**
 * The package's worker script. Written as `new Worker(new URL(…, import.meta.url), …)` in one
 * expression because that is the pattern bundlers (Vite, webpack 5, Parcel) recognise to emit
 * the worker as its own chunk; under a bundler that does not (esbuild), give `wasm.workerUrl`.
 */
const packageWorker = (): Worker => new Worker(new URL('./wasm/web-worker.js', import.meta.url), { type: 'module' });

async function loadBrowserWasm(o: BackendOptions): Promise<Backend> {
  const { loadWasmBackend, webWorkerSpawner } = await import('./wasm/index.js');
  const url = o.wasm?.workerUrl;
  const spawnWorker: SpawnWasmWorker = url !== undefined ? webWorkerSpawner(url, { type: 'module' }) : webWorkerSpawner(packageWorker);
  const options = { variant: o.wasm?.variant, threads: o.wasm?.threads, spawnWorker };
  try {
    return await loadWasmBackend(options);
  } catch (e) {
    // Only the default thread count falls back: asked-for threads that cannot start are an error.
    if (o.wasm?.threads !== undefined || !/worker|thread/i.test((e as Error).message)) throw e;
    o.onNotice?.(`wasm threads unavailable (${(e as Error).message.split('\n')[0]}); running on one thread`);
    return loadWasmBackend({ ...options, threads: 1 });
  }
}

export const { selectBackend, loadBackends, tryLoad } = backendSelector({
  native: async () => { throw new Error('the native backend needs Node (an N-API addon); in a browser use wasm'); },
  wasm: loadBrowserWasm,
  js: async () => jsBackend,
}, ['wasm', 'js']);
