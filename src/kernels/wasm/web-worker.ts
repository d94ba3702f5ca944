/**
 * The WASM backend's worker script in browsers (`ridgeline/wasm-worker`): its first message is
 * a WasmWorkerInit, and it then serves GEMM blocks until terminated. Started as a module
 * Worker by ../select-browser.ts, or by `webWorkerSpawner(url)` on a URL the page gives.
 */
import { runWasmWorker, type WasmWorkerInit } from './threads.js';

self.addEventListener('message', (e) => runWasmWorker((e as MessageEvent<WasmWorkerInit>).data, (reply) => self.postMessage(reply)), { once: true });
