/** Placeholder until the WASM kernels land: the loader reports that they are not built. */
import type { Backend } from '../backend.js';

export function loadWasmBackend(): Backend {
  throw new Error('the WASM kernels are not part of this build yet');
}
