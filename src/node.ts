/** Node-only parts of ridgeline: file I/O, datasets on disk, downloads, run directories and the native backend. */
export * from './node/files.js';
export * from './node/datasets.js';
export * from './node/fetch.js';
export * from './node/run-dir.js';
export { loadNativeBackend, type NativeBackend, type NativeOptions, type NativeGemm } from './kernels/native/index.js';
export { loadNodeWasmBackend } from './kernels/wasm/node.js';
