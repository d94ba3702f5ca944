/**
 * Choosing a backend, the policy shared by every platform: `auto` takes the first backend of the
 * platform's order that loads (Node: native, wasm, js; browsers: wasm, js) and reports each it
 * passed over; naming one that cannot load is an error that says why. The loaders themselves
 * are the platform's (./select-node.ts, ./select-browser.ts), so this file imports no backend:
 * the browser build never pulls in Node's addon loader.
 */
import { ConfigError } from '../errors.js';
import type { Backend } from './backend.js';
import type { NativeOptions } from './native/index.js';
import type { WasmVariant } from './wasm/index.js';

export type BackendName = 'native' | 'wasm' | 'js';
export type BackendChoice = BackendName | 'auto';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'native', 'wasm', 'js'];

export interface BackendOptions {
  wasm?: {
    /**
     * Threads for large GEMMs, the calling thread included. Default: Node min(2, cores)
     * (RIDGELINE_WASM_THREADS overrides it); browsers 2 where the page is cross-origin isolated
     * (SharedArrayBuffer), else 1.
     */
    threads?: number;
    /** 'auto' (default): relaxed SIMD where the runtime validates it, else SIMD128. */
    variant?: 'auto' | WasmVariant;
    /**
     * Browsers: the URL of the worker script for the second thread (`ridgeline/wasm-worker`).
     * Default: the package's own, `new URL('./wasm/web-worker.js', import.meta.url)`, which
     * Vite, webpack and Parcel resolve and bundle; give it when your bundler does not (esbuild).
     */
    workerUrl?: string | URL;
  };
  /** Node's native backend: BLAS threads and GEMM kind (process-wide). */
  native?: NativeOptions;
  /** Hears one line for each backend `auto` passed over, and for a fallback to one wasm thread. */
  onNotice?: (line: string) => void;
}

/** A backend that loaded, or the reason it did not. */
export type LoadResult = { name: BackendName; backend: Backend } | { name: BackendName; error: string };

/** Each loader resolves to a backend or throws with a one-line reason. */
export type BackendLoaders = Record<BackendName, (options: BackendOptions) => Promise<Backend>>;

export interface BackendSelector {
  /** The backend `choice` names, or for `auto` the first of the platform's order that loads. */
  selectBackend(choice?: BackendChoice, options?: BackendOptions): Promise<Backend>;
  /** Every backend with its load result, in the platform's order (fastest first). */
  loadBackends(options?: BackendOptions): Promise<LoadResult[]>;
  tryLoad(name: BackendName, options?: BackendOptions): Promise<LoadResult>;
}

/** The selection policy over one platform's loaders; `order` is what `auto` tries, fastest first. */
export function backendSelector(loaders: BackendLoaders, order: readonly BackendName[]): BackendSelector {
  async function tryLoad(name: BackendName, options: BackendOptions = {}): Promise<LoadResult> {
    try {
      return { name, backend: await loaders[name](options) };
    } catch (e) {
      return { name, error: (e as Error).message.split('\n')[0] };
    }
  }
  return {
    tryLoad,
    loadBackends: (options = {}) => Promise.all(order.map((name) => tryLoad(name, options))),
    async selectBackend(choice = 'auto', options = {}) {
      if (!BACKEND_CHOICES.includes(choice)) throw new ConfigError(`backend must be one of ${BACKEND_CHOICES.join(', ')}, got ${JSON.stringify(choice)}`);
      if (choice !== 'auto') {
        const r = await tryLoad(choice, options);
        if ('error' in r) throw new ConfigError(`the ${choice} backend is not available: ${r.error}`);
        return r.backend;
      }
      for (const name of order) {
        const r = await tryLoad(name, options);
        if ('backend' in r) return r.backend;
        options.onNotice?.(`${name} backend unavailable (${r.error}); falling back`);
      }
      throw new Error(`no backend of ${order.join(', ')} loaded`);
    },
  };
}

/**
 * The threads a backend's kernels run on, as it reports them (the native backend's BLAS and
 * OpenMP threads, the wasm backend's GEMM threads); 1 for the single-threaded reference; null
 * when a backend does not say.
 */
export function backendThreads(b: Backend): number | null {
  const o = b as unknown as Record<string, unknown>;
  for (const key of ['threads', 'blasThreads']) {
    const t = o[key];
    if (typeof t === 'number') return t;
    if (typeof t === 'function') return Number((t as () => unknown).call(b));
  }
  return b.name === 'js' ? 1 : null;
}
