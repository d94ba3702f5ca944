/**
 * Backend selection under Node, as the CLI does it: `auto` is native, then wasm (its GEMM
 * threads are `worker_threads`), then js. This module is Node's `selectBackend` in
 * `ridgeline` (package.json's `node` condition: src/index.node.ts); it loads the native addon
 * and Node's worker threads lazily, on first use.
 */
import { jsBackend } from './js/index.js';
import { backendSelector } from './select.js';

export const { selectBackend, loadBackends, tryLoad } = backendSelector({
  native: async (o) => (await import('./native/index.js')).loadNativeBackend(o.native),
  wasm: async (o) => (await import('./wasm/node.js')).loadNodeWasmBackend({ threads: o.wasm?.threads, variant: o.wasm?.variant }),
  js: async () => jsBackend,
}, ['native', 'wasm', 'js']);
