/**
 * Measures the WASM kernels on one core (Node-only; not part of the test suite).
 *
 *   node --import tsx wasm/bench.ts                 GEMM GFLOP/s (kernel alone and through the
 *                                                   backend with its copies) + MLP training step
 *   node --import tsx wasm/bench.ts --tune          the same GEMM shapes for several micro-kernel
 *                                                   tiles and blockings, kernel alone
 *   node --import tsx wasm/bench.ts --threads       threads: backend.gemm GFLOP/s at 1 and 2 threads
 *                                                   (MLP and conv shapes), the small-GEMM crossover,
 *                                                   MLP training samples/s by wall clock
 *   node --experimental-wasm-relaxed-simd --import tsx wasm/bench.ts    relaxed SIMD as well
 *
 * The 128-bit peak is clock × 4 lanes × 2 flops (multiply-add) × 2 FMA units, with the clock
 * read from /proc/cpuinfo.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { assemble, buildVariants } from './build.js';
import { DEFAULT_OPTIONS, type KernelOptions, type Variant } from './generate.js';
import { instantiateWasmBackend, loadWasmBackend, PARALLEL_GEMM_FLOPS, type WasmBackend, type WasmVariant } from '../src/kernels/wasm/index.js';
import { loadNodeWasmBackend } from '../src/kernels/wasm/node.js';
import { jsBackend } from '../src/kernels/js/index.js';
import type { Backend } from '../src/kernels/backend.js';
import { createDataset } from '../src/data/dataset.js';
import { Trainer, type TrainConfig } from '../src/train/trainer.js';
import { regularizationTerm } from '../src/regularization/plan.js';

const mhz = Number(/cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? NaN);
const PEAK = (mhz / 1000) * 4 * 2 * 2; // GFLOP/s, one core, 128-bit FMA

/**
 * The clock the core actually runs at: a chain of 1000 dependent i32.mul (3 cycles each on
 * current x86 cores) per loop iteration, best of 300 short runs. In a VM /proc/cpuinfo shows
 * the nominal clock, while the core boosts well above it.
 */
async function measuredClockGHz(): Promise<number> {
  const chain = '(local.set $x (i32.mul (local.get $x) (local.get $k)))\n'.repeat(1000);
  const wat = `(module (func (export "f") (param $n i32) (param $k i32) (result i32) (local $x i32)
    (local.set $x (i32.const 1))
    (loop $l ${chain} (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br_if $l (local.get $n)))
    (local.get $x)))`;
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(await assemble(wat)), {});
  const f = instance.exports.f as (n: number, k: number) => number;
  for (let i = 0; i < 20; i++) f(1000, 3);
  let best = Infinity;
  for (let s = 0; s < 300; s++) {
    const t0 = performance.now();
    f(200, 3);
    best = Math.min(best, performance.now() - t0);
  }
  return (200 * 1000 * 3) / (best / 1000) / 1e9;
}
let realPeak = NaN;

/** β as the layer uses it: dW accumulates into the gradient (β = 1, so C is copied in too). */
interface Shape { label: string; ta: boolean; tb: boolean; m: number; n: number; k: number; beta: number }
const SHAPES: Shape[] = [
  { label: 'NT 128×256×784 (forward x·Wᵀ)', ta: false, tb: true, m: 128, n: 256, k: 784, beta: 0 },
  { label: 'TN 256×784×128 (dW += dyᵀ·x)', ta: true, tb: false, m: 256, n: 784, k: 128, beta: 1 },
  { label: 'NN 128×784×256 (dx = dy·W)', ta: false, tb: false, m: 128, n: 784, k: 256, beta: 0 },
  { label: 'NN 1024×1024×1024', ta: false, tb: false, m: 1024, n: 1024, k: 1024, beta: 0 },
];

const random = (n: number) => {
  const a = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; a[i] = s / 2 ** 31 - 1; }
  return a;
};

/** Seconds of CPU time this process has used (user + system). */
const cpuSeconds = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

interface Rate { best: number; cpu: number; median: number }

/**
 * GFLOP/s on one core, two ways, because the machine is shared (other builds and benchmarks
 * run beside this one): `best` from the fastest of many short wall-clock samples (≈ 3 ms, or
 * one call when a call is longer), which approximates an uncontended core, and `cpu` from the
 * process's CPU time over all samples, which excludes time a neighbour held the core but not
 * its cache pollution or the lower boost clock of a fully busy machine. Warm-up first, so
 * that V8 has tiered the code up.
 */
function time(fn: () => void, flops: number): Rate {
  const warm = cpuSeconds() + 0.3;
  let reps = 0;
  const w0 = performance.now();
  while (cpuSeconds() < warm) { fn(); reps++; }
  const inner = Math.max(1, Math.round((reps * 3) / (performance.now() - w0)));
  let best = Infinity, total = 0;
  const samples: number[] = [];
  const c0 = cpuSeconds(), end = performance.now() + 3000;
  for (let s = 0; s < 300 && performance.now() < end; s++) {
    const t0 = performance.now();
    for (let r = 0; r < inner; r++) fn();
    const t = (performance.now() - t0) / 1000 / inner;
    samples.push(t);
    best = Math.min(best, t);
    total += inner;
  }
  samples.sort((a, b) => a - b);
  return { best: flops / best / 1e9, cpu: (flops * total) / (cpuSeconds() - c0) / 1e9, median: flops / samples[samples.length >> 1] / 1e9 };
}

/** The gemm export alone: operands already in linear memory, nothing copied. */
async function kernelOnly(bytes: Uint8Array<ArrayBuffer>, s: Shape): Promise<Rate> {
  const { instance } = await WebAssembly.instantiate(bytes, {});
  const ex = instance.exports as unknown as { memory: WebAssembly.Memory; gemm_work_bytes(): number; gemm: (...a: number[]) => void };
  const align = (x: number) => (x + 63) & ~63;
  const work = 64, a = align(work + ex.gemm_work_bytes()), b = align(a + s.m * s.k * 4), c = align(b + s.k * s.n * 4);
  const end = c + s.m * s.n * 4;
  ex.memory.grow(Math.ceil(Math.max(0, end - ex.memory.buffer.byteLength) / 65536));
  const f32 = new Float32Array(ex.memory.buffer);
  f32.set(random(s.m * s.k), a / 4);
  f32.set(random(s.k * s.n), b / 4);
  return time(() => ex.gemm(+s.ta, +s.tb, s.m, s.n, s.k, 1, a, b, s.beta, c, work), 2 * s.m * s.n * s.k);
}

function throughBackend(backend: Backend, s: Shape): Rate {
  const a = random(s.m * s.k), b = random(s.k * s.n), c = new Float32Array(s.m * s.n);
  return time(() => backend.gemm(s.ta, s.tb, s.m, s.n, s.k, 1, a, b, s.beta, c), 2 * s.m * s.n * s.k);
}

const pct = (g: number, peak: number) => `${((100 * g) / peak).toFixed(0)}%`;

/** One Trainer.trainStep of 784-256-256-10 ReLU at B = 128 (momentum + L2), over 8 fixed batches. */
const B = 128;

function mlpStep(backend: Backend): () => void {
  const N = B * 8;
  const images = random(N * 784).map((v) => 0.5 + 0.5 * v);
  const labels = Int32Array.from({ length: N }, (_, i) => (i * 7) % 10);
  const config: TrainConfig = {
    model: { inputSize: 784, classes: 10, layers: [
      { type: 'dense', units: 256 }, { type: 'relu' }, { type: 'dense', units: 256 }, { type: 'relu' }, { type: 'dense', units: 10 }] },
    optimizer: { name: 'momentum', schedule: { type: 'constant', lr: 0.01 }, momentum: 0.9 },
    regularization: [regularizationTerm('sklearn-mlp:alpha=0.0256', { batch: B })],
    batchSize: B, epochs: 1, seed: 1,
  };
  const trainer = new Trainer(config, backend, createDataset(images, labels, [784], 10));
  let step = 0;
  const run = () => {
    const o = (step++ % 8) * B;
    trainer.trainStep(images.subarray(o * 784, (o + B) * 784), labels.subarray(o, o + B), B);
  };
  return run;
}

/** Samples/s of Trainer.trainStep for 784-256-256-10 ReLU, B = 128, momentum + L2. */
function trainingRate(backend: Backend, seconds: number): number {
  const run = mlpStep(backend);
  const warm = cpuSeconds() + 1;
  while (cpuSeconds() < warm) run();
  let n = 0;
  const t0 = cpuSeconds();
  while (cpuSeconds() - t0 < seconds) { run(); n++; }
  return (n * B) / (cpuSeconds() - t0);
}

async function benchmark(): Promise<void> {
  const ghz = await measuredClockGHz();
  realPeak = ghz * 4 * 2 * 2;
  console.log(`Node ${process.versions.node} (V8 ${process.versions.v8}); load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`128-bit FMA peak per core (4 lanes × 2 flops × 2 FMA units × clock): ${PEAK.toFixed(1)} GFLOP/s at the ` +
    `nominal ${mhz} MHz of /proc/cpuinfo; ${realPeak.toFixed(1)} GFLOP/s at the measured ${ghz.toFixed(2)} GHz`);
  const built = await buildVariants();
  const variants: [Variant, WasmVariant][] = [['simd', 'simd128']];
  if (WebAssembly.validate(built.relaxed.bytes)) variants.push(['relaxed', 'relaxed-simd']);
  else console.log('(relaxed SIMD does not validate in this runtime: run with --experimental-wasm-relaxed-simd to include it)');
  for (const [v, name] of variants) {
    const backend = await instantiateWasmBackend(built[v].bytes, name);
    console.log(`\n${name}, ${DEFAULT_OPTIONS.mr}×${DEFAULT_OPTIONS.nr} micro-kernel`);
    console.log('| shape | kernel GFLOP/s best (CPU-time) | % of nominal / measured-clock peak | backend.gemm with copies, best (CPU-time) |');
    console.log('|---|---|---|---|');
    for (const s of SHAPES) {
      const k = await kernelOnly(built[v].bytes, s);
      const b = throughBackend(backend, s);
      console.log(`| ${s.label} | ${k.best.toFixed(1)} (${k.cpu.toFixed(1)}) | ${pct(k.best, PEAK)} / ${pct(k.best, realPeak)} | ${b.best.toFixed(1)} (${b.cpu.toFixed(1)}) |`);
    }
  }
  console.log('\nMLP 784-256-256-10, B = 128, momentum + L2, Trainer.trainStep, one core');
  const js = trainingRate(jsBackend, 3);
  console.log(`js: ${js.toFixed(0)} samples/s`);
  for (const [, name] of variants) {
    const w = trainingRate(await loadWasmBackend({ variant: name }), 5);
    console.log(`wasm (${name}): ${w.toFixed(0)} samples/s (${(w / js).toFixed(1)}× js)`);
  }
}

/**
 * Samples/s of the same training step by wall clock (CPU time counts every thread): the median
 * of 3 runs of `seconds`, and from the 10th-percentile step time (the steps that ran while both
 * cores were ours, on a shared machine).
 */
function trainingRateWall(backend: Backend, seconds: number): { median: number; p10: number } {
  const run = mlpStep(backend);
  for (let i = 0; i < 30; i++) run();
  const rates: number[] = [], steps: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
      const s0 = performance.now();
      run();
      steps.push(performance.now() - s0);
      n++;
    }
    rates.push((n * B) / ((performance.now() - t0) / 1000));
  }
  steps.sort((a, b) => a - b);
  return { median: rates.sort((a, b) => a - b)[1], p10: B / (steps[Math.floor(steps.length / 10)] / 1000) };
}

/** Conv layers as im2col GEMMs (src/nn/conv2d.ts): 64 filters, 3×3×32 patches, B·H·W = 32·28·28. */
const CONV_SHAPES: Shape[] = [
  { label: 'conv fwd NN 64×25088×288 (W·cols)', ta: false, tb: false, m: 64, n: 25088, k: 288, beta: 0 },
  { label: 'conv dW NT 64×288×25088 (dW += dy·colsᵀ)', ta: false, tb: true, m: 64, n: 288, k: 25088, beta: 1 },
  { label: 'conv dcols TN 288×25088×64 (Wᵀ·dy)', ta: true, tb: false, m: 288, n: 25088, k: 64, beta: 0 },
];

/** backend.gemm at 1 and 2 threads, the small-GEMM crossover, and training by wall clock. */
async function threadsBenchmark(): Promise<void> {
  const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');
  console.log(`Node ${process.versions.node} (V8 ${process.versions.v8}); load average ${load()}`);
  const one = await loadWasmBackend();
  const two: WasmBackend = await loadNodeWasmBackend({ threads: 2 });
  const forced: WasmBackend = await loadNodeWasmBackend({ threads: 2, tuning: { parallelMinFlops: 0 } });
  console.log(`variant ${one.variant}; backend.gemm with copies, wall clock, GFLOP/s best / median of many samples`);
  console.log('| shape | 1 thread | 2 threads | speedup (best) | blocks done by the worker |');
  console.log('|---|---|---|---|---|');
  for (const s of [...SHAPES, ...CONV_SHAPES]) {
    const r1 = throughBackend(one, s);
    const before = two.gemmStats!;
    const r2 = throughBackend(two, s);
    const after = two.gemmStats!;
    const share = (after.chunks - before.chunks - (after.callerChunks - before.callerChunks)) / Math.max(1, after.chunks - before.chunks);
    console.log(`| ${s.label} | ${r1.best.toFixed(1)} / ${r1.median.toFixed(1)} | ${r2.best.toFixed(1)} / ${r2.median.toFixed(1)} | ` +
      `${(r2.best / r1.best).toFixed(2)}× | ${(100 * share).toFixed(0)}% |`);
  }
  console.log(`\nSmall GEMMs: µs per call (best / median), NT 128×n×256 as the 10-class layer; 2 threads forced to split ` +
    `(PARALLEL_GEMM_FLOPS is ${PARALLEL_GEMM_FLOPS / 1e6} MFLOP); load ${load()}`);
  console.log('| n | MFLOP | 1 thread | 2 threads | 2 / 1 (best) |');
  console.log('|---|---|---|---|---|');
  for (const n of [8, 16, 32, 48, 64, 96, 128, 256]) {
    const s: Shape = { label: '', ta: false, tb: true, m: 128, n, k: 256, beta: 0 };
    const flops = 2 * s.m * s.n * s.k;
    const us = (r: Rate, k: 'best' | 'median') => (flops / r[k] / 1e3).toFixed(1);
    const r1 = throughBackend(one, s), r2 = throughBackend(forced, s);
    console.log(`| ${n} | ${(flops / 1e6).toFixed(1)} | ${us(r1, 'best')} / ${us(r1, 'median')} | ${us(r2, 'best')} / ${us(r2, 'median')} | ${(r1.best / r2.best).toFixed(2)} |`);
  }
  console.log(`\nMLP 784-256-256-10, B = 128, Trainer.trainStep, samples/s by wall clock: median of 3 × 3 s / ` +
    `from the 10th-percentile step time; load ${load()}`);
  const js = trainingRateWall(jsBackend, 2);
  const w1 = trainingRateWall(one, 3), w2 = trainingRateWall(two, 3);
  const f = (r: { median: number; p10: number }) => `${r.median.toFixed(0)} / ${r.p10.toFixed(0)}`;
  console.log(`js ${f(js)}; wasm 1 thread ${f(w1)} (${(w1.median / js.median).toFixed(1)}× js); wasm 2 threads ${f(w2)} ` +
    `(${(w2.median / js.median).toFixed(1)}× js; 2 threads / 1 thread: ${(w2.median / w1.median).toFixed(2)}× median, ` +
    `${(w2.p10 / w1.p10).toFixed(2)}× 10th percentile); load ${load()}`);
  two.dispose(); forced.dispose();
}

async function tune(): Promise<void> {
  console.log(`peak ${PEAK.toFixed(1)} GFLOP/s; kernel-only GFLOP/s per shape (${SHAPES.map((s) => s.label.split(' (')[0]).join(', ')})`);
  const relaxed = process.execArgv.includes('--experimental-wasm-relaxed-simd');
  const configs: Omit<KernelOptions, 'variant'>[] = [];
  const tile = (mr: number, nr: number, unroll = 1) =>
    ({ ...DEFAULT_OPTIONS, mr, nr, unroll, mc: Math.floor(DEFAULT_OPTIONS.mc / mr) * mr, nc: Math.floor(DEFAULT_OPTIONS.nc / nr) * nr });
  for (const [mr, nr] of [[4, 8], [2, 16], [3, 12], [5, 8]]) configs.push(tile(mr, nr));
  configs.push(tile(4, 8, 2));
  for (const [kc, mc, nc] of [[128, 128, 2048], [384, 128, 2048], [512, 64, 2048], [256, 256, 2048], [256, 64, 2048], [256, 128, 512]]) {
    configs.push({ ...tile(4, 8), kc, mc, nc });
  }
  for (const o of configs) {
    const built = await buildVariants(o);
    for (const v of relaxed ? ['simd', 'relaxed'] as const : ['simd'] as const) {
      const rates: string[] = [];
      for (const s of SHAPES) rates.push((await kernelOnly(built[v].bytes, s)).best.toFixed(1));
      console.log(`${v.padEnd(7)} ${o.mr}x${o.nr} u${o.unroll} kc${o.kc} mc${o.mc} nc${o.nc}: ${rates.join('  ')}`);
    }
  }
}

await (process.argv.includes('--tune') ? tune() : process.argv.includes('--threads') ? threadsBenchmark() : benchmark());
