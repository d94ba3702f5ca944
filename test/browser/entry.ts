/**
 * Browser entry for test/browser/wasm-browser.test.ts, bundled by esbuild (iife, platform
 * browser) and run in headless Chromium. It uses only the browser-capable core (`src/index.ts`)
 * and the WASM backend: nothing from src/node/, no Node built-ins, no test helpers that use them.
 *
 * It builds the same MLP twice with the same seed (so the same initial weights), one Trainer on
 * the JS reference backend and one on the WASM backend, runs 5 training steps on identical
 * seeded synthetic batches, and publishes on `window.__ridgelineBrowserResult` the norm-wise
 * relative difference of every parameter (max|a − b| / max|b|, b the reference), the WASM
 * variant that loaded, and whether `WebAssembly.validate` accepts a relaxed-SIMD module here.
 */
import { Rng, Trainer, createDataset, jsBackend, mlpSpec, regularizationTerm, type TrainConfig } from '../../src/index.js';
import { loadWasmBackend } from '../../src/kernels/wasm/index.js';

export const INPUT = 784, HIDDEN = 64, CLASSES = 10, BATCH = 32, STEPS = 5, SEED = 7;

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
  return {
    variant: wasm.variant, relaxedSimdValidates, initialMaxAbs, params, losses,
    userAgent: navigator.userAgent, millis: performance.now() - started,
  };
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
