/**
 * Generates the WebAssembly text (WAT) of ridgeline's kernels. `wasm/build.ts` assembles it
 * with the npm package `wabt`; see wasm/README.md for the design.
 *
 * Everything unrolled is written once here as a loop over the tile (the GEMM micro-kernel, the
 * panel packing), so the generated WAT is long but this file stays readable. The two variants
 * differ only in `fma()`: plain SIMD128 multiplies then adds (two roundings), relaxed SIMD
 * emits `f32x4.relaxed_madd` (one fused instruction where the hardware has FMA).
 *
 * Memory contract (the JS side in src/kernels/wasm/create-backend.ts keeps it): every pointer is a byte
 * offset into the module's own memory, every array region is 16-byte aligned and followed by
 * at least 16 bytes of padding, so elementwise loops run in whole f32x4 vectors and may read
 * and write up to three elements past `n` (padding the caller never copies out). Kernels whose
 * rows are packed back to back (bias add, softmax) never write past a row.
 */

import { elementwise } from './elementwise.js';
import { edgeStore, gemmDriver, microKernel, packPanels } from './gemm.js';
import { mathFunctions } from './math.js';
import { optimizerStep } from './optimizer.js';
import { reductions, softmaxCrossEntropy } from './reductions.js';
import { spatialKernels } from './spatial.js';
import { i32 } from './wat.js';

export type Variant = 'simd' | 'relaxed';

export interface KernelOptions {
  variant: Variant;
  /** Micro-kernel tile: MR rows × NR columns of C in registers (NR a multiple of 4). */
  mr: number;
  nr: number;
  /** How many k steps the micro-kernel's main loop does per iteration. */
  unroll: number;
  /** Cache blocking: at most KC of k, MC rows of A and NC columns of B per packed block. */
  kc: number;
  mc: number;
  nc: number;
}

/**
 * Chosen by `wasm/tune.ts` on the build machine (AMD EPYC, V8 11.3); see the README. 4×8 keeps
 * 8 accumulators + 2 B vectors + the broadcast A + a product temp in V8's 15 allocatable XMM
 * registers with no spills.
 */
export const DEFAULT_OPTIONS: Omit<KernelOptions, 'variant'> = { mr: 4, nr: 8, unroll: 1, kc: 256, mc: 128, nc: 2048 };

/**
 * How the module gets its linear memory: 'owned' declares and exports it (the single-threaded
 * backend); 'shared' imports a shared memory as env.memory (initial ≥ 16 pages, maximum ≤
 * MAX_PAGES), which the threaded backend creates once and instantiates the module on in every
 * thread. Assembling 'shared' needs wabt's threads feature; the code is otherwise identical.
 */
export type MemoryKind = 'owned' | 'shared';
/** The shared memory's declared maximum: the whole 32-bit address space (4 GiB). */
export const MAX_PAGES = 65536;

export function generateWat(o: KernelOptions, memory: MemoryKind = 'owned'): string {
  if (o.nr % 4 !== 0) throw new Error(`NR must be a multiple of 4, got ${o.nr}`);
  if (o.mc % o.mr !== 0 || o.nc % o.nr !== 0) throw new Error('MC and NC must be multiples of MR and NR');
  const fma = o.variant === 'relaxed'
    ? (a: string, b: string, c: string) => `(f32x4.relaxed_madd ${a} ${b} ${c})`
    : (a: string, b: string, c: string) => `(f32x4.add ${c} (f32x4.mul ${a} ${b}))`;
  const tileBytes = o.mr * o.nr * 4;
  const packABytes = o.mc * o.kc * 4, packBBytes = o.nc * o.kc * 4;
  const workBytes = tileBytes + packABytes + packBBytes;

  return `(module
  ;; ridgeline kernels, ${o.variant === 'relaxed' ? 'relaxed SIMD (f32x4.relaxed_madd)' : 'SIMD128 (f32x4.mul + f32x4.add)'}
  ;; GEMM micro-kernel ${o.mr}x${o.nr}, k unrolled ${o.unroll}x, blocks KC=${o.kc} MC=${o.mc} NC=${o.nc}; ${memory} memory
  ${memory === 'shared' ? `(import "env" "memory" (memory 16 ${MAX_PAGES} shared))` : '(memory (export "memory") 16)'}
  (global (export "variant_relaxed") i32 ${i32(o.variant === 'relaxed' ? 1 : 0)})
  ;; Bytes of scratch the gemm needs at its \`work\` pointer: an MR×NR tile, packed A, packed B.
  (func (export "gemm_work_bytes") (result i32) ${i32(workBytes)})
${microKernel(o, fma)}
${edgeStore(o)}
${packPanels('a', o.mr, o.kc)}
${packPanels('b', o.nr, o.kc)}
${gemmDriver(o, tileBytes, packABytes)}
${elementwise()}
${mathFunctions()}
${reductions()}
${softmaxCrossEntropy()}
${optimizerStep()}
${spatialKernels()}
)
`;
}
