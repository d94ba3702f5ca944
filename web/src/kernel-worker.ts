/** The wasm backend's second thread: its first message starts the GEMM worker loop (src/kernels/wasm/threads.ts). */
import { runWasmWorker, type WasmWorkerInit } from '../../src/kernels/wasm/index.js';

self.addEventListener('message', (e) => runWasmWorker((e as MessageEvent<WasmWorkerInit>).data, (reply) => self.postMessage(reply)), { once: true });
