/**
 * The native backend: the N-API addon in native/ (C; GEMM is our own AVX-512 kernel where the
 * CPU has one, else the system's OpenBLAS; our own loops split over OpenMP threads). Node-only;
 * loaded lazily by kernels/select-node.ts, so the browser-capable core never imports it.
 * `loadNativeBackend` throws with a one-line reason when the addon is missing, stale or
 * disabled (RIDGELINE_NO_NATIVE=1), and the caller falls back to WASM or JS.
 *
 * Matches the reference backend (kernels/js) to float32 rounding: GEMM accumulates in float32
 * (the reference in float64), so products differ by ~1e-7..1e-6 relative
 * (test/kernels/native.test.ts bounds them at 1e-5 norm-wise); bias sums, softmax-CE and Σx²
 * run in float64 as the reference does. The convolution, pooling and per-channel kernels
 * (reference: kernels/js/spatial.ts) are bit-identical to it except the per-channel float64
 * sums over runs of s > 1 values, which differ in summation order only.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Backend, ConvGeometry, PoolGeometry } from '../backend.js';

/**
 * The addon's ABI, declared once: export name → argument count. The C side exports the same
 * table as `abi` (built from its EXPORTS array); the loader refuses an addon whose table
 * differs (a build from other sources), and the native test checks both directions.
 */
export const NATIVE_ABI = {
  gemm: 10,
  addRowVector: 4,
  sumRowsInto: 4,
  relu: 3,
  reluBackward: 4,
  tanh: 3,
  tanhBackward: 4,
  gelu: 3,
  geluBackward: 4,
  mul: 4,
  softmaxCrossEntropy: 6,
  sumSquares: 2,
  // Geometry crosses as numbers: ConvGeometry is channels, height, width, kernel, stride,
  // padding, outHeight, outWidth (8); PoolGeometry is height, width, kernelHeight, kernelWidth,
  // stride, outHeight, outWidth (7). The wrappers in loadNativeBackend unpack them.
  im2col: 11,
  col2im: 11,
  swapAxes01: 5,
  maxPool: 11,
  maxPoolBackward: 11,
  avgPool: 10,
  avgPoolBackward: 10,
  channelMoments: 6,
  channelAffine: 8,
  channelSums: 9,
  channelCombine: 10,
  optimizerStep: 5,
  setThreads: 1,
  getThreads: 0,
  blasInfo: 0,
  setGemmKind: 1,
  gemmKind: 0,
} as const;

/**
 * Which GEMM the native backend runs. 'own' is native/gemm.c, a 12×32 AVX-512 micro-kernel
 * over packed panels, for x86-64 CPUs with AVX-512 (F, VL, DQ); 'blas' is the system CBLAS
 * (absent when the addon was built without libopenblas-dev); 'portable' is
 * native/gemm_portable.c, plain C that the compiler vectorizes, in every build. 'auto' (the
 * default) is 'own' where the CPU has it, else 'blas' where the build has it, else 'portable'.
 * Why our own: OpenBLAS picks its kernels by CPU and environment (OPENBLAS_CORETYPE), and on
 * the machine the targets are measured on runs its AVX2 ones; native/bench.ts gemm, one
 * thread, 784-256-256-10 at B = 128: own 178-194 GFLOP/s at the MLP's six large shapes,
 * OpenBLAS 93-102.
 */
export type NativeGemm = 'auto' | 'own' | 'blas' | 'portable';
const GEMM_CODES: Record<Exclude<NativeGemm, 'auto'>, number> = { blas: 0, own: 1, portable: 2 };

/** The kernels whose geometry argument the addon takes as separate numbers. */
type GeometryKernels = 'im2col' | 'col2im' | 'maxPool' | 'maxPoolBackward' | 'avgPool' | 'avgPoolBackward';
type Kernels = Omit<Backend, 'name' | GeometryKernels>;
interface Addon extends Kernels {
  im2col(x: Float32Array, batch: number, channels: number, height: number, width: number, kernel: number,
    stride: number, padding: number, outHeight: number, outWidth: number, cols: Float32Array): void;
  col2im(cols: Float32Array, batch: number, channels: number, height: number, width: number, kernel: number,
    stride: number, padding: number, outHeight: number, outWidth: number, dx: Float32Array): void;
  maxPool(x: Float32Array, planes: number, height: number, width: number, kernelHeight: number, kernelWidth: number,
    stride: number, outHeight: number, outWidth: number, y: Float32Array, argmax: Int32Array): void;
  maxPoolBackward(dy: Float32Array, argmax: Int32Array, planes: number, height: number, width: number,
    kernelHeight: number, kernelWidth: number, stride: number, outHeight: number, outWidth: number, dx: Float32Array): void;
  avgPool(x: Float32Array, planes: number, height: number, width: number, kernelHeight: number, kernelWidth: number,
    stride: number, outHeight: number, outWidth: number, y: Float32Array): void;
  avgPoolBackward(dy: Float32Array, planes: number, height: number, width: number, kernelHeight: number,
    kernelWidth: number, stride: number, outHeight: number, outWidth: number, dx: Float32Array): void;
  setThreads(threads: number): void;
  getThreads(): number;
  blasInfo(): string;
  setGemmKind(code: number): void;
  gemmKind(): number;
  abi: Record<string, number>;
}

/** The native Backend, plus control of the BLAS thread pool (one per process). */
export interface NativeBackend extends Backend {
  /** One line naming the BLAS build, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64". */
  readonly blas: string;
  /** BLAS threads GEMM may use. Process-wide: it applies to every native backend in the process. */
  blasThreads(): number;
  setBlasThreads(threads: number): void;
  /** The GEMM that runs now. Process-wide, like the thread count. */
  gemmKind(): Exclude<NativeGemm, 'auto'>;
  /** Switches GEMM ('own' throws where the CPU has no AVX-512 kernel, 'blas' in a build without a CBLAS). Process-wide. */
  setGemm(kind: NativeGemm): void;
}

export interface NativeOptions {
  /**
   * BLAS threads. Default: OPENBLAS_NUM_THREADS / OMP_NUM_THREADS when set, else
   * min(2, available cores) (DEFAULT_BLAS_THREADS). Applies process-wide.
   */
  threads?: number;
  /** Which GEMM: 'auto' (default) takes our own where the CPU has it. Applies process-wide. */
  gemm?: NativeGemm;
}

/**
 * Two threads by default (capped at the cores available). The figures below are OpenBLAS's
 * (NativeOptions.gemm 'blas'); for our own GEMM see NativeGemm. Measured with native/bench.ts
 * on the 2-core CI machine (AMD EPYC, OpenBLAS 0.3.21 with its Haswell kernels), best of 5,
 * GFLOP/s at 1 → 2 threads:
 *   forward x·W1ᵀ 128×784 · 784×256 (NT)        91 → 144
 *   weight gradient dyᵀ·x 256×128 · 128×784 (TN) 93 → 160
 *   128×256×256 (NT, TN, NN)                     92-95 → 136
 *   1024³                                        92 → 174
 * Forward + loss + backward of 784-256-256-10 at B = 128: 64k → 92k samples/s. A whole
 * trainStep gained less (38.0k → 40.5k samples/s, js 2.7k), because ~1.6 ms of its ~3.3 ms was
 * then the optimizer update in TypeScript, which threads do not touch (it is now one C pass of
 * ~0.25 ms, optimizerStep). GEMMs under 4 MFLOP (the
 * 10-class layer) run on one thread whatever this says: native/blas.c, SMALL_GEMM_FLOPS.
 * The same count sets the OpenMP threads of the addon's own loops (im2col, pooling, the
 * per-channel kernels) and the K slices of long-K GEMMs run side by side.
 */
export const DEFAULT_BLAS_THREADS = 2;

/** package root/native/build/Release: this file is src/kernels/native/ or dist/kernels/native/, three levels down. */
const ADDON_PATH = fileURLToPath(new URL('../../../native/build/Release/ridgeline_native.node', import.meta.url));

/**
 * How the addon's two thread pools wait, read once by each library when the addon loads. Our
 * OpenMP loops (im2col, pooling, the per-channel kernels) and OpenBLAS's GEMMs alternate on
 * the same cores, and by default each pool's idle threads spin for a while after its work,
 * taking the core the other pool needs next. The bench CNN's step on 2 cores, one interleaved
 * run (ms): both pools spinning (OMP_WAIT_POLICY=ACTIVE, OPENBLAS_THREAD_TIMEOUT=28, i.e.
 * 2^28 cycles) 171; OpenMP workers sleeping at once (PASSIVE) 87; OpenBLAS workers also
 * sleeping after 2^4 cycles 74. But the MLP, all GEMMs back to back, wants OpenBLAS's workers
 * awake between them (samples/s at 2^28, 2^22, 2^4: 70-78k, 68k, 57-61k), so they spin for
 * 2^22 cycles (~1.5 ms): longer than the gaps between an MLP's GEMMs, shorter than a CNN's
 * pooling and normalization between its GEMMs (CNN step at 2^22: 60-66 ms, as at 2^4).
 * With our own GEMM (AVX-512 CPUs) OpenBLAS is not called at all and one pool remains, whose
 * GEMMs want a worker that is awake: every split product (8 per MLP step) and the split
 * optimizer pass would otherwise wait for the kernel to wake it. So the OpenMP workers spin
 * for GOMP_SPINCOUNT = 30 000 rounds (a fraction of a millisecond; PASSIVE alone means 0) before
 * sleeping. MLP step on 2 threads, two interleaved runs (samples/s): spin 0 103-111k,
 * 10 000 117-133k, 30 000 118-121k, 300 000 111-121k; 1 thread 96-101k (a busy moment).
 * Values the user set are kept. The variables are set only while the addon loads, so child
 * processes (the bench's PyTorch runs, study shards) do not inherit them.
 */
export const THREAD_POOL_ENV: Readonly<Record<string, string>> = {
  OMP_WAIT_POLICY: 'PASSIVE', GOMP_SPINCOUNT: '30000', OPENBLAS_THREAD_TIMEOUT: '22',
};

let cached: Addon | undefined;

function requireWithPoolEnv(path: string): Addon {
  const added = Object.keys(THREAD_POOL_ENV).filter((k) => process.env[k] === undefined);
  for (const k of added) process.env[k] = THREAD_POOL_ENV[k];
  try {
    return createRequire(import.meta.url)(path) as Addon;
  } finally {
    for (const k of added) delete process.env[k];
  }
}

function loadAddon(): Addon {
  if (cached) return cached;
  if (!existsSync(ADDON_PATH)) throw new Error(`the native addon is not built (run npm run build:native): ${ADDON_PATH}`);
  let addon: Addon;
  try {
    addon = requireWithPoolEnv(ADDON_PATH);
  } catch (e) {
    throw new Error(`the native addon failed to load (${String((e as Error).message).split('\n')[0]}): ${ADDON_PATH}`);
  }
  const expected = Object.entries(NATIVE_ABI).map(([k, v]) => `${k}/${v}`).sort().join(' ');
  const actual = Object.entries(addon.abi ?? {}).map(([k, v]) => `${k}/${v}`).sort().join(' ');
  if (actual !== expected) {
    throw new Error(`the native addon does not match this version of ridgeline (rebuild with npm run build:native): ${ADDON_PATH}`);
  }
  return (cached = addon);
}

function checkThreads(threads: number): number {
  if (!(Number.isInteger(threads) && threads >= 1 && threads <= 1024)) {
    throw new RangeError(`BLAS threads must be an integer in [1, 1024], got ${threads}`);
  }
  return threads;
}

function setGemm(addon: Addon, kind: NativeGemm): void {
  if (kind === 'auto') {
    for (const k of ['own', 'blas', 'portable'] as const) {
      try { addon.setGemmKind(GEMM_CODES[k]); return; } catch { /* not on this CPU or in this build: the next */ }
    }
  } else if (kind in GEMM_CODES) addon.setGemmKind(GEMM_CODES[kind]);
  else throw new RangeError(`native GEMM must be 'auto', 'own', 'blas' or 'portable', got ${String(kind)}`);
}

function gemmKindOf(addon: Addon): Exclude<NativeGemm, 'auto'> {
  const code = addon.gemmKind();
  return (Object.keys(GEMM_CODES) as Exclude<NativeGemm, 'auto'>[]).find((k) => GEMM_CODES[k] === code)!;
}

export function loadNativeBackend(options: NativeOptions = {}): NativeBackend {
  if (process.env.RIDGELINE_NO_NATIVE === '1') throw new Error('the native backend is disabled by RIDGELINE_NO_NATIVE');
  const addon = loadAddon();
  if (options.threads !== undefined) addon.setThreads(checkThreads(options.threads));
  else if (!process.env.OPENBLAS_NUM_THREADS && !process.env.OMP_NUM_THREADS) {
    addon.setThreads(Math.min(DEFAULT_BLAS_THREADS, availableParallelism()));
  }
  // RIDGELINE_NATIVE_GEMM picks the GEMM where the options do not (own, blas, portable, auto).
  const gemm = options.gemm ?? (process.env.RIDGELINE_NATIVE_GEMM as NativeGemm | undefined);
  if (gemm !== undefined) setGemm(addon, gemm);
  return {
    name: 'native',
    blas: addon.blasInfo().trim(),
    blasThreads: () => addon.getThreads(),
    setBlasThreads: (threads) => addon.setThreads(checkThreads(threads)),
    gemmKind: () => gemmKindOf(addon),
    setGemm: (kind) => setGemm(addon, kind),
    // The kernels are the addon's functions themselves (no wrapper between a call and C), except
    // the six that take a geometry object, which pass its fields as numbers.
    gemm: addon.gemm,
    addRowVector: addon.addRowVector,
    sumRowsInto: addon.sumRowsInto,
    relu: addon.relu,
    reluBackward: addon.reluBackward,
    tanh: addon.tanh,
    tanhBackward: addon.tanhBackward,
    gelu: addon.gelu,
    geluBackward: addon.geluBackward,
    mul: addon.mul,
    softmaxCrossEntropy: addon.softmaxCrossEntropy,
    sumSquares: addon.sumSquares,
    ...geometryKernels(addon),
    swapAxes01: addon.swapAxes01,
    channelMoments: addon.channelMoments,
    channelAffine: addon.channelAffine,
    channelSums: addon.channelSums,
    channelCombine: addon.channelCombine,
    optimizerStep: addon.optimizerStep,
  };
}

/**
 * The Backend's geometry kernels over the addon's flat ones: each wrapper only reads the
 * geometry's fields into arguments (nothing is allocated per call; C checks every number).
 */
function geometryKernels(addon: Addon): Pick<Backend, GeometryKernels> {
  const { im2col, col2im, maxPool, maxPoolBackward, avgPool, avgPoolBackward } = addon;
  return {
    im2col: (x: Float32Array, batch: number, g: ConvGeometry, cols: Float32Array) =>
      im2col(x, batch, g.channels, g.height, g.width, g.kernel, g.stride, g.padding, g.outHeight, g.outWidth, cols),
    col2im: (cols: Float32Array, batch: number, g: ConvGeometry, dx: Float32Array) =>
      col2im(cols, batch, g.channels, g.height, g.width, g.kernel, g.stride, g.padding, g.outHeight, g.outWidth, dx),
    maxPool: (x: Float32Array, planes: number, g: PoolGeometry, y: Float32Array, argmax: Int32Array) =>
      maxPool(x, planes, g.height, g.width, g.kernelHeight, g.kernelWidth, g.stride, g.outHeight, g.outWidth, y, argmax),
    maxPoolBackward: (dy: Float32Array, argmax: Int32Array, planes: number, g: PoolGeometry, dx: Float32Array) =>
      maxPoolBackward(dy, argmax, planes, g.height, g.width, g.kernelHeight, g.kernelWidth, g.stride, g.outHeight, g.outWidth, dx),
    avgPool: (x: Float32Array, planes: number, g: PoolGeometry, y: Float32Array) =>
      avgPool(x, planes, g.height, g.width, g.kernelHeight, g.kernelWidth, g.stride, g.outHeight, g.outWidth, y),
    avgPoolBackward: (dy: Float32Array, planes: number, g: PoolGeometry, dx: Float32Array) =>
      avgPoolBackward(dy, planes, g.height, g.width, g.kernelHeight, g.kernelWidth, g.stride, g.outHeight, g.outWidth, dx),
  };
}
