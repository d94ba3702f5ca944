/**
 * `ridgeline` in browsers, Web Workers and bundlers (package.json's `browser` and `default`
 * conditions): the browser-capable core and the browser's backend selection (wasm, then js).
 * Node's `ridgeline` is ./index.node.ts: the same names, with Node's selection.
 */
export * from './core.js';
export { selectBackend, loadBackends } from './kernels/select-browser.js';
