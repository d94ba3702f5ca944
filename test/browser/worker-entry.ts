/**
 * The WASM backend's worker script in the browser test (bundled by esbuild next to entry.ts and
 * served as /worker.js): its first message starts the GEMM worker loop.
 */
import { runWasmWorker, type WasmWorkerInit } from '../../src/kernels/wasm/threads.js';

self.addEventListener('message', (e) => runWasmWorker((e as MessageEvent<WasmWorkerInit>).data, (reply) => self.postMessage(reply)), { once: true });
