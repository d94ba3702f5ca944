/** `--backend auto|native|wasm|js` for every command that computes. */
import { Option } from 'commander';
import { BACKEND_CHOICES, selectBackend, type BackendChoice } from '../kernels/select.js';
import type { Backend } from '../kernels/backend.js';
import type { Log } from './log.js';

export function backendOption(): Option {
  return new Option('--backend <name>', "kernels: 'auto' picks the fastest that loads (native, wasm, js)")
    .choices(BACKEND_CHOICES as string[]).default('auto');
}

/** The chosen backend; `auto`'s fallbacks are said in one line each. */
export async function resolveBackend(choice: string, log: Log): Promise<Backend> {
  const { backend, notices } = await selectBackend(choice as BackendChoice);
  for (const n of notices) log.info(`note: ${n}`);
  return backend;
}
