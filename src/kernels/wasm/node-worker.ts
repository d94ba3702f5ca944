/**
 * The worker script of the WASM backend's threads under Node (`worker_threads`): its first
 * message is a WasmWorkerInit, and it then serves GEMM blocks until terminated.
 * Spawned by src/kernels/wasm/node.ts.
 */
import { parentPort } from 'node:worker_threads';
import { runWasmWorker, type WasmWorkerInit } from './threads.js';

const port = parentPort;
if (!port) throw new Error('src/kernels/wasm/node-worker: not started as a worker thread');
port.once('message', (init: WasmWorkerInit) => runWasmWorker(init, (reply) => port.postMessage(reply)));
