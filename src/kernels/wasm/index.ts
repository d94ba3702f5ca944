/**
 * The WebAssembly SIMD backend: the portable fast path (Node 20+ and browsers; no Node APIs here).
 *
 * Design (wasm/README.md has the long form and the measurements):
 *  1. Kernels are hand-written WAT produced by a TypeScript generator (wasm/generate.ts) and
 *     assembled at build time by the npm package `wabt` (wasm/build.ts), so `npm ci` alone builds
 *     them. Two modules are emitted, plain SIMD128 (f32x4.mul + f32x4.add) and relaxed SIMD
 *     (f32x4.relaxed_madd); at load time the relaxed one is used when `WebAssembly.validate`
 *     accepts it (Chromium, Node ≥ 22; on Node 20 ./node.ts turns on V8's flag for it), and
 *     the backend's `variant` says which was chosen.
 *  2. The bytes are embedded as base64 in the generated module `./kernels-wasm.ts` (gitignored,
 *     written by `npm run build`), so the same import works in Node, browsers and bundlers; no
 *     file or URL loading.
 *  3. GEMM packs panels of op(A) and op(B) into contiguous buffers (the four transpose cases are
 *     only strides of the packing), then one register-blocked micro-kernel (4×8: eight f32x4
 *     accumulators) runs over BLIS-style KC/MC/NC blocks; edge tiles are computed whole into a
 *     scratch tile and their valid corner stored. α and β are applied at the store; β = 0 never
 *     reads C (NaN in C does not propagate). Accumulation is float32: against the float64 JS
 *     reference the norm-wise relative difference (max|Δ| / max|C|) is a few 1e-7 on random
 *     data (measured ≤ 8.1e-7 up to k = 1024, both variants); the tests allow 1e-5.
 *  4. Operands: where the runtime has SharedArrayBuffer the module runs on a shared memory (one
 *     thread or several) and the backend offers `alloc`: zeroed views of arena blocks
 *     (./arena.ts) that models allocate their parameters, gradients, activations and optimizer
 *     state from, and that kernels use where they lie. Any other argument is copied into a
 *     scratch block and results copied out. Without SharedArrayBuffer the module owns its
 *     memory (growth detaches it, which would invalidate handed-out views), so there is no
 *     `alloc` and every call copies. With threads > 1 (the default where a worker spawner is given: Node's entry
 *     src/kernels/wasm/node.ts) the same shared module is instantiated here and in threads − 1
 *     workers; GEMMs of at least PARALLEL_GEMM_FLOPS are cut into blocks of C, and optimizer
 *     steps of parameters of at least PARAM_SPLIT_MIN floats into contiguous ranges, that the
 *     threads claim (./threads.ts). Each C element is computed by one thread with the same k
 *     order, and the optimizer is elementwise, so threads never change a bit.
 *  5. Elementwise kernels run in whole f32x4 vectors over padded regions; exp/log/tanh/Φ are
 *     Cephes-style float32 polynomials (1–2 ulp; Φ uses the reference's Chebyshev erfc).
 *     Reductions that the reference does in float64 (sumSquares, sumRowsInto, the CE sum) are
 *     float64 here too.
 *  6. optimizerStep runs the whole program in one blocked pass whose arithmetic is float64
 *     lanes rounded where the reference stores (bit-identical to js; wasm/optimizer.ts); w, u
 *     and the state buffers are used in place when they come from `alloc` (the trainer gives
 *     the optimizer's `init` the backend's allocator).
 *  7. The convolution, pooling and per-channel kernels are the reference's loops in wasm
 *     (wasm/spatial.ts), same order and arithmetic, so the same bits except the per-channel
 *     float64 sums (four lanes); every one writes exactly its elements, and geometry and array
 *     lengths are checked here first, since the kernels index by them.
 */
import type { Backend, ConvGeometry, PoolGeometry } from '../backend.js';
export { runWasmWorker, webWorkerSpawner, type SpawnWasmWorker, type WasmWorkerHandle, type WasmWorkerInit } from './threads.js';
export { PARALLEL_GEMM_FLOPS, PARAM_SPLIT_MIN, type WasmBackend, type WasmVariant } from './module.js';
export {
  DEFAULT_THREAD_TUNING, instantiateThreadedWasmBackend, instantiateWasmBackend, loadWasmBackend,
  type ThreadedInstantiation, type WasmLoadOptions, type WasmThreadTuning,
} from './load.js';
