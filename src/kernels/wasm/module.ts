/**
 * The generated module as the backend sees it: its exports' signatures (wasm/generate.ts),
 * the backend's public type, and the memory layout rules every part of the backend shares.
 */
import type { Backend } from '../backend.js';
import type { ThreadExports } from './threads.js';

export type WasmVariant = 'relaxed-simd' | 'simd128';

export interface WasmBackend extends Backend {
  readonly name: 'wasm';
  /** Which module is running: relaxed SIMD (fused multiply-add) or plain SIMD128. */
  readonly variant: WasmVariant;
  /** Threads that large GEMMs run on (the calling thread + threads − 1 workers); 1 after dispose(). */
  readonly threads: number;
  /** Ends the worker threads (idempotent). The backend keeps working, on the calling thread only. */
  dispose(): void;
  /**
   * Threaded backends: GEMMs split so far, their blocks, the blocks the calling thread computed,
   * and the optimizer steps split (parameters of ≥ PARAM_SPLIT_MIN floats).
   */
  readonly gemmStats: { gemms: number; chunks: number; callerChunks: number; optimizerSteps: number } | undefined;
  /** Bytes of the linear memory held by buffers from `alloc` and the copy-in region (leak checks). */
  readonly arenaBytes: number;
  /**
   * Elements copied into and out of the linear memory so far, for the memory contract: a model
   * that allocates through `alloc` copies almost nothing per step (test/kernels/wasm-copies.test.ts).
   */
  readonly copied: { in: number; out: number };
}

/**
 * GEMMs below this many flops (2mnk) run on the calling thread: handing out a block and waiting
 * for it costs a few µs when the worker is awake (tens when it sleeps), more than small
 * products gain. Measured with wasm/bench.ts (wasm/README.md, "Threads").
 */
export const PARALLEL_GEMM_FLOPS = 4e6;
/**
 * Parameters of at least this many floats have their optimizer step split over the threads
 * (a 256×256 weight and up; a bias is a few µs of work, less than a hand-off).
 */
export const PARAM_SPLIT_MIN = 65536;

/** The signatures of the generated module's exports (see wasm/generate.ts). */
export interface KernelExports extends ThreadExports {
  /** The owned-memory build only (the shared build imports it). */
  memory: WebAssembly.Memory;
  gemm_work_bytes(): number;
  gemm(ta: number, tb: number, m: number, n: number, k: number, alpha: number, a: number, b: number, beta: number, c: number, work: number): void;
  add_row_vector(y: number, bias: number, rows: number, cols: number): void;
  sum_rows_into(x: number, rows: number, cols: number, out: number): void;
  relu(x: number, out: number, n: number): void;
  relu_backward(y: number, dy: number, out: number, n: number): void;
  tanh(x: number, out: number, n: number): void;
  tanh_backward(y: number, dy: number, out: number, n: number): void;
  gelu(x: number, out: number, n: number): void;
  gelu_backward(x: number, dy: number, out: number, n: number): void;
  mul(a: number, b: number, out: number, n: number): void;
  softmax_ce(logits: number, labels: number, rows: number, cols: number, dlogits: number, scale: number, work: number): number;
  sum_squares(x: number, n: number): number;
  im2col(x: number, batch: number, C: number, H: number, W: number, k: number, stride: number, pad: number, OH: number, OW: number, cols: number): void;
  col2im(cols: number, batch: number, C: number, H: number, W: number, k: number, stride: number, pad: number, OH: number, OW: number, dx: number): void;
  swap_axes01(x: number, d0: number, d1: number, inner: number, out: number): void;
  max_pool(x: number, planes: number, H: number, W: number, kh: number, kw: number, stride: number, OH: number, OW: number, y: number, argmax: number): void;
  max_pool_backward(dy: number, argmax: number, planes: number, plane: number, outPlane: number, dx: number): void;
  avg_pool(x: number, planes: number, H: number, W: number, kh: number, kw: number, stride: number, OH: number, OW: number, y: number): void;
  avg_pool_backward(dy: number, planes: number, H: number, W: number, kh: number, kw: number, stride: number, OH: number, OW: number, dx: number): void;
  channel_moments(x: number, n: number, c: number, s: number, mean: number, variance: number): void;
  channel_affine(x: number, n: number, c: number, s: number, scale: number, shift: number, y: number, relu: number): void;
  channel_sums(a: number, b: number, n: number, c: number, s: number, center: number, mask: number, masked: number, sumA: number, sumAB: number): void;
  channel_combine(a: number, b: number, n: number, c: number, s: number, alpha: number, beta: number, gamma: number,
    mask: number, masked: number, out: number): void;
}

/** Regions start 64-byte aligned and keep ≥ 16 bytes of padding (the kernels' vector tails). */
export const regionBytes = (elements: number) => (elements * 4 + 16 + 63) & ~63;
export const PAGE = 65536;
/** The shared memory's maximum, as the shared module declares it (wasm/generate.ts MAX_PAGES): 4 GiB. */
export const MAX_PAGES = 65536;
