/** What the report says about the machine: CPU, its vector extensions, versions, BLAS environment, load. */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './common.js';

/** The CPU's feature flags from /proc/cpuinfo (Linux; an empty set elsewhere). */
export function cpuFlags(): Set<string> {
  try {
    const m = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return new Set(m ? m[1].trim().split(/\s+/) : []);
  } catch {
    return new Set();
  }
}

const packageVersion = (name: string): string | null => {
  try {
    return (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
};

/**
 * The variables that change BLAS speed. Every child inherits them, except where a PyTorch
 * configuration sets or removes OPENBLAS_CORETYPE itself (bench/peers.ts).
 */
export const BLAS_ENV_KEYS = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS'] as const;

export type Machine = ReturnType<typeof describeMachine>;

export function describeMachine(mode: string) {
  const flags = cpuFlags();
  return {
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.cpus().length,
    available_parallelism: os.availableParallelism(),
    total_memory_gb: os.totalmem() / 2 ** 30,
    /** The vector extensions that decide the kernels (from /proc/cpuinfo). */
    vector_flags: ['sse2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512_bf16'].filter((f) => flags.has(f)),
    load_average_start: os.loadavg(),
    load_average_end: [] as number[],
    versions: {
      node: process.versions.node, v8: process.versions.v8,
      ridgeline: (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version,
      tfjs: packageVersion('@tensorflow/tfjs'), 'tfjs-backend-wasm': packageVersion('@tensorflow/tfjs-backend-wasm'),
    } as Record<string, string | null>,
    mode,
    blas_env: Object.fromEntries(BLAS_ENV_KEYS.map((k) => [k, process.env[k] ?? null])) as Record<string, string | null>,
  };
}

export const fmtLoad = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
