/**
 * Choosing a backend: `auto` takes the fastest that loads (native, then wasm, then js) and
 * says which; naming one that cannot load is an error that says why. Fast backends live in
 * their own modules and are loaded lazily, so the browser-capable core never pulls in Node's
 * addon loader.
 */
import { ConfigError } from '../errors.js';
import type { Backend } from './backend.js';
import { jsBackend } from './js/index.js';

export type BackendName = 'native' | 'wasm' | 'js';
export type BackendChoice = BackendName | 'auto';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'native', 'wasm', 'js'];

/** A backend that loaded, or the reason it did not. */
export type LoadResult = { name: BackendName; backend: Backend } | { name: BackendName; error: string };

/** Each loader resolves to a backend or throws with a one-line reason. */
const LOADERS: Record<BackendName, () => Promise<Backend>> = {
  native: async () => (await import('./native/index.js')).loadNativeBackend(),
  wasm: async () => (await import('./wasm/node.js')).loadNodeWasmBackend(),
  js: async () => jsBackend,
};

export async function tryLoad(name: BackendName): Promise<LoadResult> {
  try {
    return { name, backend: await LOADERS[name]() };
  } catch (e) {
    return { name, error: (e as Error).message.split('\n')[0] };
  }
}

/** Every backend with its load result, fastest first. */
export async function loadBackends(): Promise<LoadResult[]> {
  return Promise.all((['native', 'wasm', 'js'] as const).map(tryLoad));
}

export interface Selected {
  backend: Backend;
  /** One line for the user when `auto` passed over a faster backend. */
  notices: string[];
}

export async function selectBackend(choice: BackendChoice): Promise<Selected> {
  if (choice !== 'auto') {
    const r = await tryLoad(choice);
    if ('error' in r) throw new ConfigError(`--backend ${choice} is not available: ${r.error}`);
    return { backend: r.backend, notices: [] };
  }
  const notices: string[] = [];
  for (const name of ['native', 'wasm', 'js'] as const) {
    const r = await tryLoad(name);
    if ('backend' in r) return { backend: r.backend, notices };
    notices.push(`${name} backend unavailable (${r.error}); falling back`);
  }
  throw new Error('the js backend always loads');
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
