/**
 * Hand-run measurements for the native backend (not a test; nothing here asserts timings):
 *
 *   node --import tsx native/bench.ts            # everything
 *   node --import tsx native/bench.ts gemm       # GEMM GFLOP/s at 1 and 2 BLAS threads
 *   node --import tsx native/bench.ts step       # 784-256-256-10 momentum step, samples/s
 *   node --import tsx native/bench.ts profile    # where a native step's time goes
 *   node --import tsx native/bench.ts fwdbwd     # forward + loss + backward only (no optimizer)
 *   node --import tsx native/bench.ts optimizer  # the optimizer update alone, fused vs transforms, per backend
 *
 * Run it on an otherwise idle machine; each figure is the best of several timed rounds.
 */
import { loadNativeBackend, type NativeBackend, type NativeGemm } from '../src/kernels/native/index.js';
import { jsBackend } from '../src/kernels/js/index.js';
import type { Backend } from '../src/kernels/backend.js';
import { createDataset } from '../src/data/dataset.js';
import { Trainer, type TrainConfig } from '../src/train/trainer.js';
import { SoftmaxCrossEntropy } from '../src/loss/softmax-cross-entropy.js';
import { Rng } from '../src/tensor/rng.js';
import { applyUpdates } from '../src/optim/transform.js';
import { regularizationTerm, type RegTerm } from '../src/regularization/plan.js';

const what = process.argv[2] ?? 'all';
// GEMM=own or GEMM=blas picks the native GEMM (default: own where the CPU has it).
const native = loadNativeBackend({ gemm: (process.env.GEMM as NativeGemm | undefined) ?? 'auto' });
const rng = new Rng(1);
const random = (n: number) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = 2 * rng.uniform() - 1; return a; };
const now = () => performance.now();

/** Best seconds per call over `rounds` rounds of at least `minMs` each. */
function time(fn: () => void, minMs = 300, rounds = 5): number {
  for (let i = 0; i < 3; i++) fn();
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    let calls = 0;
    const t0 = now();
    let t = t0;
    while (t - t0 < minMs) { fn(); calls++; t = now(); }
    best = Math.min(best, (t - t0) / 1000 / calls);
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// GEMM: the shapes of a 784-256-256-10 MLP at B = 128 (Dense: y = x·Wᵀ; dW += dyᵀ·x; dx = dy·W)

const SHAPES: [string, boolean, boolean, number, number, number, number][] = [
  // label, transA, transB, m, n, k, beta
  ['fwd  x·W1ᵀ 128×256×784 (NT)', false, true, 128, 256, 784, 0],
  ['fwd  h·W2ᵀ 128×256×256 (NT)', false, true, 128, 256, 256, 0],
  ['fwd  h·W3ᵀ 128×10×256  (NT)', false, true, 128, 10, 256, 0],
  ['bwd  dW1 256×784×128   (TN, β=1)', true, false, 256, 784, 128, 1],
  ['bwd  dW2 256×256×128   (TN, β=1)', true, false, 256, 256, 128, 1],
  ['bwd  dW3 10×256×128    (TN, β=1)', true, false, 10, 256, 128, 1],
  ['bwd  dx2 128×256×256   (NN)', false, false, 128, 256, 256, 0],
  ['bwd  dx3 128×256×10    (NN)', false, false, 128, 256, 10, 0],
  ['1024³                  (NN)', false, false, 1024, 1024, 1024, 0],
];

function benchGemm(): void {
  console.log(`\nGEMM GFLOP/s (${native.blas})`);
  console.log('| shape | 1 thread | 2 threads |\n|---|---:|---:|');
  for (const [label, ta, tb, m, n, k, beta] of SHAPES) {
    const a = random(m * k), b = random(k * n), c = random(m * n);
    // Rounds alternate between thread counts, so a burst of other load hits both alike.
    const best = alternate([1, 2], (threads) => {
      native.setBlasThreads(threads);
      return time(() => native.gemm(ta, tb, m, n, k, 1, a, b, beta, c), m * n * k > 1e8 ? 1000 : 300, 1);
    });
    console.log(`| ${label} | ${best.map((s) => `${(2 * m * n * k / s / 1e9).toFixed(1)} (${(s * 1e6).toFixed(1)} µs)`).join(' | ')} |`);
  }
  native.setBlasThreads(2);
}

/** Best of `rounds` calls of measure(v) for each v, the values taking turns. */
function alternate<T>(values: T[], measure: (v: T) => number, rounds = 5): number[] {
  const best = values.map(() => Infinity);
  for (let r = 0; r < rounds; r++) values.forEach((v, i) => { best[i] = Math.min(best[i], measure(v)); });
  return best;
}

// ---------------------------------------------------------------------------------------------
// One training step

const B = 128, N = 4096, SIZES = [784, 256, 256, 10];
const images = random(N * SIZES[0]);
const labels = new Int32Array(N).map(() => Math.floor(rng.uniform() * 10));
const data = createDataset(images, labels, [SIZES[0]], 10);

function trainer(backend: Backend, regularization: RegTerm[] = []): Trainer {
  const config: TrainConfig = {
    model: { inputSize: SIZES[0], classes: 10, layers: [
      { type: 'dense', units: SIZES[1] }, { type: 'relu' }, { type: 'dense', units: SIZES[2] }, { type: 'relu' }, { type: 'dense', units: 10 }] },
    optimizer: { name: 'momentum', schedule: { type: 'constant', lr: 0.01 }, momentum: 0.9 },
    batchSize: B, epochs: 1, seed: 0, regularization,
  };
  return new Trainer(config, backend, data);
}

/** Seconds per trainStep (best round), cycling over N/B batches. */
function secondsPerStep(t: Trainer, ms = 1000): number {
  let s = 0;
  const batches = N / B;
  return time(() => {
    const i = s++ % batches;
    t.trainStep(images.subarray(i * B * SIZES[0], (i + 1) * B * SIZES[0]), labels.subarray(i * B, (i + 1) * B), B);
  }, ms, 1);
}

function benchStep(): void {
  console.log('\nMLP 784-256-256-10, B = 128, momentum 0.9: trainStep samples/s (best of 5 rounds of 1 s)');
  const js = trainer(jsBackend), nat = trainer(native);
  const [sJs] = alternate([0], () => secondsPerStep(js, 2000), 2);
  console.log(`| js | ${Math.round(B / sJs)} |`);
  const best = alternate([1, 2], (threads) => { native.setBlasThreads(threads); return secondsPerStep(nat); });
  best.forEach((s, i) => console.log(`| native, ${i + 1} BLAS thread${i ? 's' : ''} | ${Math.round(B / s)} |`));
  native.setBlasThreads(2);
}

// ---------------------------------------------------------------------------------------------
// Where a native step's time goes: every backend call timed by kind, the rest is JS.

function profile(threads: number): void {
  native.setBlasThreads(threads);
  const spent = new Map<string, number>();
  const timed = { ...native } as Record<string, unknown>;
  for (const [k, f] of Object.entries(native)) {
    if (typeof f !== 'function' || k === 'blasThreads' || k === 'setBlasThreads') continue;
    timed[k] = (...args: unknown[]) => {
      const t0 = now();
      const r = (f as (...a: unknown[]) => unknown)(...args);
      const key = k === 'gemm' ? `gemm ${args[0] ? 'T' : 'N'}${args[1] ? 'T' : 'N'}` : k;
      spent.set(key, (spent.get(key) ?? 0) + now() - t0);
      return r;
    };
  }
  const t = trainer(timed as unknown as NativeBackend);
  const steps = 400;
  const x = images.subarray(0, B * SIZES[0]), y = labels.subarray(0, B);
  for (let i = 0; i < 50; i++) t.trainStep(x, y, B);
  spent.clear();
  const t0 = now();
  for (let i = 0; i < steps; i++) t.trainStep(x, y, B);
  const total = (now() - t0) / steps;
  // The JS parts of the step, timed alone on the same model. The optimizer update is the
  // backend's optimizerStep (in the table above); its JS side (scalars per step) is in "else".
  const zero = time(() => t.model.zeroGrad(), 200, 3) * 1e3;
  console.log(`\nNative step profile, ${threads} BLAS thread(s): ${(total * 1e3).toFixed(0)} µs/step (${Math.round(B / total * 1e3)} samples/s)`);
  console.log('| part | µs/step | share |\n|---|---:|---:|');
  let backendSum = 0;
  for (const [k, ms] of [...spent].sort((p, q) => q[1] - p[1])) {
    backendSum += ms / steps;
    console.log(`| ${k} | ${(ms / steps * 1e3).toFixed(1)} | ${(ms / steps / total * 100).toFixed(1)}% |`);
  }
  console.log(`| (JS) zeroGrad, alone | ${(zero * 1e3).toFixed(1)} | ${(zero / total * 100).toFixed(1)}% |`);
  const rest = total - backendSum - zero;
  console.log(`| (JS) everything else (argmax, penalty, optimizer scalars, call overhead, timers) | ${(rest * 1e3).toFixed(1)} | ${(rest / total * 100).toFixed(1)}% |`);
}

/**
 * The step without the optimizer (zeroGrad, forward, fused softmax-CE, backward): the floor a
 * step approaches as the fused optimizer pass (Backend.optimizerStep) gets cheaper.
 */
function benchForwardBackward(): void {
  console.log('\nforward + softmax-CE + backward only (no optimizer update), samples/s');
  const t = trainer(native), { model } = t;
  const loss = new SoftmaxCrossEntropy(native, 10, B);
  const x = images.subarray(0, B * SIZES[0]), y = labels.subarray(0, B);
  const best = alternate([1, 2], (threads) => {
    native.setBlasThreads(threads);
    return time(() => {
      model.zeroGrad();
      loss.forwardBackward(model.forward(x, B, true), y, B);
      model.backward(loss.grad(B), B);
    }, 1000, 1);
  });
  best.forEach((s, i) => console.log(`| native, ${i + 1} BLAS thread${i ? 's' : ''} | ${Math.round(B / s)} (${(s * 1e6).toFixed(0)} µs) |`));
  native.setBlasThreads(2);
}

/**
 * The optimizer update alone, as in `npm run bench` (λ_E = 1e-4 on the weights, momentum 0.9):
 * the fused pass (Updater → Backend.optimizerStep) against the transforms one by one plus
 * applyUpdates, on each backend, rounds taking turns. Both give the same bits; the gradients
 * are restored before every call (both sides pay that copy) so values never drift to denormals.
 */
async function benchOptimizer(): Promise<void> {
  const { loadWasmBackend } = await import('../src/kernels/wasm/index.js');
  console.log('\nOptimizer update alone (269 322 parameters; L2, momentum, lr): µs per step');
  console.log('| backend | fused | transforms + applyUpdates | speed-up |\n|---|---:|---:|---:|');
  for (const backend of [native, await loadWasmBackend(), jsBackend]) {
    const t = trainer(backend, [regularizationTerm('seed:lambda=1e-4')]);
    const params = t.model.params, updates = params.map((p) => p.grad), grads = params.map((p) => random(p.grad.length));
    const state = (t as unknown as { optState: unknown }).optState, ctx = { batchSize: B };
    const restore = () => { for (let i = 0; i < grads.length; i++) updates[i].set(grads[i]); };
    const [fused, plain] = alternate([true, false], (isFused) => time(isFused
      ? () => { restore(); t.updater.apply(updates, state, params, ctx); }
      : () => { restore(); t.transform.update(updates, state, params, ctx); applyUpdates(params, updates); }, 200, 1));
    console.log(`| ${backend.name} | ${(fused * 1e6).toFixed(0)} | ${(plain * 1e6).toFixed(0)} | ${(plain / fused).toFixed(1)}× |`);
  }
}

if (what === 'all' || what === 'gemm') benchGemm();
if (what === 'all' || what === 'step') benchStep();
if (what === 'all' || what === 'fwdbwd') benchForwardBackward();
if (what === 'all' || what === 'profile') { profile(1); profile(2); }
if (what === 'all' || what === 'optimizer') await benchOptimizer();
