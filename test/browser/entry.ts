/**
 * Browser entry for test/browser/wasm-browser.test.ts, bundled by esbuild (ESM, platform
 * browser) and run in headless Chromium. It uses only the browser-capable core (`src/index.ts`)
 * and the WASM backend: nothing from src/node/, no Node built-ins, no test helpers that use them.
 *
 * It builds the same MLP twice with the same seed (so the same initial weights), one Trainer on
 * the JS reference backend and one on the WASM backend, runs 5 training steps on identical
 * seeded synthetic batches, and publishes on `window.__ridgelineBrowserResult` the norm-wise
 * relative difference of every parameter (max|a − b| / max|b|, b the reference), the WASM
 * variant that loaded, and whether `WebAssembly.validate` accepts a relaxed-SIMD module here.
 *
 * When the page is cross-origin isolated (the test serves it with COOP/COEP headers, so
 * SharedArrayBuffer exists), it also loads the backend with 2 threads (a Web Worker running
 * src/kernels/wasm/web-worker.ts as /worker.js; this main thread spins instead of Atomics.wait) and checks that
 * its GEMMs equal the 1-thread backend's bit for bit and that the same 5 training steps, with
 * every GEMM split between the threads, match the reference.
 *
 * Then a small CNN (CNN_ARCH: convolutions, BatchNorm with its fused ReLU, max and average
 * pooling) the same way on the 1-thread backend, for the wasm convolution, pooling and
 * per-channel kernels.
 */
import { Rng, Trainer, createDataset, jsBackend, mlpSpec, parseArch, regularizationTerm, type Backend, type TrainConfig } from '../../src/index.js';
import { loadWasmBackend, webWorkerSpawner, type WasmBackend } from '../../src/kernels/wasm/index.js';

export const INPUT = 784, HIDDEN = 64, CLASSES = 10, BATCH = 32, STEPS = 5, SEED = 7;
/** 28×28 images as 1×28×28; 2×2 max pooling (the 4-lane path) and 2×2 average pooling. */
export const CNN_ARCH = 'conv:8x3p1,bn,relu,pool:2,conv:8x3p1,bn,relu,avgpool:2,flatten,dense:10';

export interface ParamDifference { name: string; size: number; maxAbs: number; maxRel: number }

export interface BrowserResult {
  /** Set when the run threw; then the other fields may be empty. */
  error?: string;
  variant: string;
  /** WebAssembly.validate on a minimal module using f32x4.relaxed_madd. */
  relaxedSimdValidates: boolean;
  /** Largest |a − b| over all parameters before the first step (same seed: must be 0). */
  initialMaxAbs: number;
  /** After STEPS steps, one entry per parameter. */
  params: ParamDifference[];
  /** Data loss per step, [reference, wasm]. */
  losses: [number, number][];
  userAgent: string;
  millis: number;
  /** The 2-thread backend (absent when the page is not cross-origin isolated). */
  threads?: ThreadsResult;
  /** The CNN after STEPS steps on the 1-thread backend: one entry per parameter, and the data losses. */
  cnn?: { arch: string; params: ParamDifference[]; losses: [number, number][] };
}

export interface ThreadsResult {
  crossOriginIsolated: boolean;
  threads: number;
  /** GEMMs (all four transposes, several sizes) whose 2-thread result differs from 1 thread in any bit. */
  gemmMismatches: string[];
  gemmsChecked: number;
  /** After STEPS steps with every GEMM split, one entry per parameter (against the reference). */
  params: ParamDifference[];
  /** Blocks the worker computed / all blocks. */
  workerBlocks: number;
  blocks: number;
  /** backend.gemm NT 128×256×784 GFLOP/s (best of 40), [1 thread, 2 threads]. */
  gflops: [number, number];
}

declare global {
  interface Window { __ridgelineBrowserResult?: BrowserResult }
}

/**
 * (module (func (result v128) v128.const 0 v128.const 0 v128.const 0 f32x4.relaxed_madd)):
 * f32x4.relaxed_madd is opcode 0xfd 0x105 (LEB128 0x85 0x02).
 */
const RELAXED_PROBE = (() => {
  const zeros = new Array<number>(16).fill(0);
  const konst = [0xfd, 0x0c, ...zeros];
  const body = [0x00, ...konst, ...konst, ...konst, 0xfd, 0x85, 0x02, 0x0b];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
    0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
    0x0a, body.length + 2, 0x01, body.length, ...body, // code section
  ]);
})();

function difference(actual: Float32Array, expected: Float32Array): { maxAbs: number; maxRel: number } {
  if (actual.length !== expected.length) throw new Error(`length mismatch: ${actual.length} vs ${expected.length}`);
  let maxAbs = 0, scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= maxAbs)) maxAbs = d; // NaN lands here and stays
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return { maxAbs, maxRel: scale > 0 ? maxAbs / scale : maxAbs };
}

/** Seeded synthetic data: pixels in [0, 1), labels from a fixed random linear teacher. */
function syntheticData(count: number): { x: Float32Array; y: Int32Array } {
  const rng = new Rng(SEED);
  const teacher = new Float32Array(INPUT * CLASSES);
  for (let i = 0; i < teacher.length; i++) teacher[i] = rng.normal();
  const x = new Float32Array(count * INPUT), y = new Int32Array(count);
  for (let r = 0; r < count; r++) {
    for (let f = 0; f < INPUT; f++) x[r * INPUT + f] = rng.uniform();
    let best = 0, bestScore = -Infinity;
    for (let c = 0; c < CLASSES; c++) {
      let s = 0;
      for (let f = 0; f < INPUT; f++) s += (x[r * INPUT + f] - 0.5) * teacher[f * CLASSES + c];
      if (s > bestScore) { bestScore = s; best = c; }
    }
    y[r] = best;
  }
  return { x, y };
}

/** A Trainer over `backend` with the reference config, stepped on the same batches as `run`. */
function trainSteps(backend: Backend, x: Float32Array, y: Int32Array, config: TrainConfig) {
  const trainer = new Trainer(config, backend, createDataset(x, y, [INPUT], CLASSES));
  for (let s = 0; s < STEPS; s++) {
    trainer.trainStep(x.slice(s * BATCH * INPUT, (s + 1) * BATCH * INPUT), y.slice(s * BATCH, (s + 1) * BATCH), BATCH);
  }
  return trainer;
}

function randomArray(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = 2 * rng.uniform() - 1;
  return a;
}

function gflops(backend: WasmBackend, m: number, n: number, k: number): number {
  const rng = new Rng(1);
  const a = randomArray(rng, m * k), b = randomArray(rng, n * k), c = new Float32Array(m * n);
  let best = Infinity;
  for (let i = 0; i < 45; i++) {
    const t0 = performance.now();
    backend.gemm(false, true, m, n, k, 1, a, b, 0, c);
    if (i >= 5) best = Math.min(best, performance.now() - t0);
  }
  return (2 * m * n * k) / best / 1e6;
}

async function runThreads(one: WasmBackend, reference: Trainer, x: Float32Array, y: Int32Array, config: TrainConfig): Promise<ThreadsResult> {
  const spawnWorker = webWorkerSpawner(new URL('worker.js', location.href));
  const two = await loadWasmBackend({ threads: 2, spawnWorker });
  const split = await loadWasmBackend({ threads: 2, spawnWorker, tuning: { parallelMinFlops: 0, minColumns: 8, minRows: 4 } });
  const gemmMismatches: string[] = [];
  let gemmsChecked = 0;
  const rng = new Rng(11);
  for (const [m, n, k] of [[128, 256, 784], [256, 784, 128], [37, 1001, 45], [300, 24, 99]]) {
    for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      const a = randomArray(rng, m * k), b = randomArray(rng, k * n), c0 = randomArray(rng, m * n);
      const c1 = c0.slice(), c2 = c0.slice(), c3 = c0.slice();
      one.gemm(ta, tb, m, n, k, 0.5, a, b, 0.25, c1);
      two.gemm(ta, tb, m, n, k, 0.5, a, b, 0.25, c2);
      split.gemm(ta, tb, m, n, k, 0.5, a, b, 0.25, c3);
      gemmsChecked += 2;
      for (const [name, c] of [['2 threads', c2], ['2 threads, small blocks', c3]] as const) {
        if (c.some((v, i) => !Object.is(v, c1[i]))) gemmMismatches.push(`${name}: gemm(${ta}, ${tb}, ${m}, ${n}, ${k})`);
      }
    }
  }
  const trained = trainSteps(split, x, y, config);
  const params = reference.model.params.map((p, i) => ({ name: p.name, size: p.value.length, ...difference(trained.model.params[i].value, p.value) }));
  const gf: [number, number] = [gflops(one, 128, 256, 784), gflops(two, 128, 256, 784)];
  const stats = split.gemmStats!;
  const result: ThreadsResult = {
    crossOriginIsolated: true, threads: two.threads, gemmMismatches, gemmsChecked, params,
    workerBlocks: stats.chunks - stats.callerChunks, blocks: stats.chunks, gflops: gf,
  };
  two.dispose();
  split.dispose();
  return result;
}

async function run(): Promise<BrowserResult> {
  const started = performance.now();
  const relaxedSimdValidates = WebAssembly.validate(RELAXED_PROBE);
  const wasm = await loadWasmBackend();
  const { x, y } = syntheticData(BATCH * STEPS);
  const config: TrainConfig = {
    model: mlpSpec(INPUT, [HIDDEN], CLASSES),
    optimizer: { name: 'momentum', schedule: { type: 'constant', lr: 0.05 }, momentum: 0.9 },
    regularization: [regularizationTerm('seed:lambda=1e-4')],
    batchSize: BATCH, epochs: 1, seed: SEED,
  };
  const data = createDataset(x, y, [INPUT], CLASSES);
  const reference = new Trainer(config, jsBackend, data);
  const candidate = new Trainer(config, wasm, data);

  let initialMaxAbs = 0;
  reference.model.params.forEach((p, i) => {
    initialMaxAbs = Math.max(initialMaxAbs, difference(candidate.model.params[i].value, p.value).maxAbs);
  });

  const { params, losses } = trainSideBySide(reference, candidate, x, y);
  const threads = globalThis.crossOriginIsolated ? await runThreads(wasm, reference, x, y, config) : undefined;
  const cnnConfig: TrainConfig = { ...config, model: parseArch(CNN_ARCH, [1, 28, 28], CLASSES) };
  const images = createDataset(x, y, [1, 28, 28], CLASSES);
  const cnn = { arch: CNN_ARCH, ...trainSideBySide(new Trainer(cnnConfig, jsBackend, images), new Trainer(cnnConfig, wasm, images), x, y) };
  return {
    variant: wasm.variant, relaxedSimdValidates, initialMaxAbs, params, losses,
    userAgent: navigator.userAgent, millis: performance.now() - started, threads, cnn,
  };
}

/** STEPS steps of both trainers on the same batches; the data losses and each parameter's difference (b the reference's). */
function trainSideBySide(reference: Trainer, candidate: Trainer, x: Float32Array, y: Int32Array): { params: ParamDifference[]; losses: [number, number][] } {
  const losses: [number, number][] = [];
  for (let s = 0; s < STEPS; s++) {
    // Fresh copies per trainer, so neither can see the other's buffers.
    const xb = () => x.slice(s * BATCH * INPUT, (s + 1) * BATCH * INPUT);
    const yb = () => y.slice(s * BATCH, (s + 1) * BATCH);
    const a = reference.trainStep(xb(), yb(), BATCH);
    const b = candidate.trainStep(xb(), yb(), BATCH);
    losses.push([a.dataLoss, b.dataLoss]);
  }
  const params = reference.model.params.map((p, i) => {
    const q = candidate.model.params[i];
    if (q.name !== p.name) throw new Error(`parameter order differs: ${p.name} vs ${q.name}`);
    return { name: p.name, size: p.value.length, ...difference(q.value, p.value) };
  });
  return { params, losses };
}

run().then(
  (result) => { window.__ridgelineBrowserResult = result; },
  (e: unknown) => {
    const error = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
    console.error(error);
    window.__ridgelineBrowserResult = {
      error, variant: '', relaxedSimdValidates: false, initialMaxAbs: NaN, params: [], losses: [],
      userAgent: navigator.userAgent, millis: 0,
    };
  },
);
