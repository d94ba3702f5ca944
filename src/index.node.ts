/**
 * `ridgeline` under Node (package.json's `node` condition): the browser-capable core and Node's
 * backend selection (native, then wasm, then js, as the CLI). Node-only helpers (files,
 * datasets on disk, the native backend's loader) are in `ridgeline/node`.
 */
export * from './core.js';
export { selectBackend, loadBackends } from './kernels/select-node.js';
