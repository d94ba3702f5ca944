/**
 * `ridgeline backends`: which backends load here, which kernels each picked (the native GEMM
 * and BLAS, the wasm module and threads), and for each that does not load, why and the command
 * that fixes it, worded for where ridgeline is: its own repository (`npm run build:native`) or
 * an installed package (`npm rebuild ridgeline`).
 */
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendThreads, type LoadResult } from '../kernels/select.js';
import { loadBackends } from '../kernels/select-node.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** In ridgeline's own checkout (tests, scripts) rather than installed under node_modules. */
function inRepository(): boolean {
  return existsSync(join(ROOT, '.git')) || existsSync(join(ROOT, 'test'));
}

function describe(r: LoadResult): string {
  if ('error' in r) {
    const fix = /RIDGELINE_NO_NATIVE/.test(r.error) ? 'unset RIDGELINE_NO_NATIVE'
      : r.name === 'native'
      ? (inRepository() ? 'npm run build:native' : 'npm rebuild ridgeline') + ' (needs make, a C compiler and python3; libopenblas-dev is optional)'
      : r.name === 'wasm' ? 'npm run build (the wasm modules are generated at build time)' : '';
    return `${r.name.padEnd(7)} not available: ${r.error}${fix ? `\n         fix: ${fix}` : ''}`;
  }
  const b = r.backend as unknown as Record<string, unknown>;
  const threads = backendThreads(r.backend);
  const parts: string[] = [];
  if (r.name === 'native') {
    parts.push(`GEMM ${String((b.gemmKind as () => string)())}`, `BLAS: ${String(b.blas)}`);
  }
  if (r.name === 'wasm' && typeof b.variant === 'string') parts.push(`module ${b.variant}`);
  if (threads !== null) parts.push(`${threads} thread${threads === 1 ? '' : 's'}`);
  return `${r.name.padEnd(7)} loads${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

export function backendsCommand(): Command {
  return new Command('backends')
    .description('list the backends that load here, the kernels they picked, and how to fix one that does not')
    .option('--json', 'one JSON object per backend')
    .action(async (o: { json?: boolean }) => {
      const results = await loadBackends();
      if (o.json) {
        for (const r of results) process.stdout.write(JSON.stringify('error' in r ? { name: r.name, loads: false, error: r.error } : { name: r.name, loads: true, line: describe(r) }) + '\n');
        return;
      }
      const auto = results.find((r) => 'backend' in r)!;
      process.stdout.write(results.map(describe).join('\n') + `\nauto picks: ${auto.name}\n`);
    });
}
