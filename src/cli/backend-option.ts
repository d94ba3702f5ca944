/** `--backend auto|native|wasm|js` for every command that computes. */
import { Option } from 'commander';
import { BACKEND_CHOICES, type BackendChoice } from '../kernels/select.js';
import { selectBackend } from '../kernels/select-node.js';
import type { Backend } from '../kernels/backend.js';
import type { WasmVariant } from '../kernels/wasm/index.js';
import type { Log } from './log.js';

export function backendOption(): Option {
  return new Option('--backend <name>', "kernels: 'auto' picks the fastest that loads (native, wasm, js)")
    .choices(BACKEND_CHOICES as string[]).default('auto');
}

/**
 * The chosen backend; `auto`'s fallbacks are said in one line each. `wasmVariant` asks the wasm
 * backend for one module (a resumed run keeps the one it started on).
 */
export async function resolveBackend(choice: string, log: Log, wasmVariant?: WasmVariant): Promise<Backend> {
  return selectBackend(choice as BackendChoice, { onNotice: (n) => log.info(`note: ${n}`), ...(wasmVariant ? { wasm: { variant: wasmVariant } } : {}) });
}
