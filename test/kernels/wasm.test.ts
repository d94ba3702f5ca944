/**
 * The WASM backend against the JS reference (jsBackend, float64 accumulation) on seeded random
 * inputs, plus PyTorch training parity and the build's two modules.
 *
 * The variant under test is the one this runtime loads without help (SIMD128 in Node 20, where
 * only the Node loader turns relaxed SIMD on, and these backends ask for the variant). When
 * relaxed SIMD does not validate at start, one test re-runs this whole file in a child Node with
 * --experimental-wasm-relaxed-simd and RIDGELINE_WASM_VARIANT=relaxed-simd, so both generated
 * modules are checked on every run.
 *
 * GEMM tolerance 1e-5, norm-wise (max|a − b| / max|b|): the kernel accumulates in float32, one
 * sequential sum of k products per entry. Its rounding error grows like √k·u·(typical partial
 * sum) on random data (u = 2^-24 ≈ 6e-8), ≈ 5e-7 relative to max|C| at k = 784 and ≤ 1e-6 for
 * every size here (measured); the worst-case bound k·u·Σ|a||b| is ≈ 5e-5·(Σ|a||b| / max|C|),
 * which random signs never approach. 1e-5 keeps a 10× margin and is also the tolerance of the
 * PyTorch parity tests.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Backend } from '../../src/kernels/backend.js';
import { jsBackend } from '../../src/kernels/js/index.js';
import {
  instantiateWasmBackend, loadWasmBackend, PARALLEL_GEMM_FLOPS, PARAM_SPLIT_MIN, type SpawnWasmWorker, type WasmBackend, type WasmVariant, type WasmWorkerInit,
} from '../../src/kernels/wasm/index.js';
import { defaultWasmThreads, defaultWasmVariant, loadNodeWasmBackend, spawnNodeWasmWorker } from '../../src/kernels/wasm/node.js';
import { assemble } from '../../wasm/build.js';
import { tryLoad } from '../../src/kernels/select-node.js';
import { Rng } from '../../src/tensor/rng.js';
import { OP_SLOTS, encodeAddScaledWeights, encodeAdam, encodeMomentum } from '../../src/kernels/optimizer-ops.js';
import { createDataset } from '../../src/data/dataset.js';
import { Trainer, type TrainConfig } from '../../src/train/trainer.js';
import { parseArch } from '../../src/nn/spec.js';
import { assertClose, difference } from '../helpers/close.js';

const GEMM_RTOL = 1e-5;
const embedded = await import('../../src/kernels/wasm/kernels-wasm.js');
const bytesOf = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));
/**
 * Whether relaxed SIMD validates in this runtime as started, read before any test runs:
 * loadNodeWasmBackend (select.ts's loader) turns it on for the rest of the process on Node 20.
 */
const RELAXED_AT_START = WebAssembly.validate(bytesOf(embedded.RELAXED_WASM_BASE64));
const requested = process.env.RIDGELINE_WASM_VARIANT as WasmVariant | undefined;
const wasm1: WasmBackend = await loadWasmBackend({ variant: requested ?? 'auto' });
const V = wasm1.variant;
/** Splits every GEMM (k > 0) into blocks of one micro-tile, up to 4095 of them. */
const EVERY_GEMM = { parallelMinFlops: 0, minColumns: 8, minRows: 4, chunksPerThread: 2048 };
const wasm2 = await loadNodeWasmBackend({ variant: V, threads: 2 });
const wasm2all = await loadNodeWasmBackend({ variant: V, threads: 2, tuning: EVERY_GEMM });
const wasmOwned = await loadWasmBackend({ variant: V, sharedMemory: false });

/**
 * The same backend with every Float32Array argument first copied into a buffer from its
 * `alloc` (the same buffer for the same array, so in-place calls stay in place) and copied
 * back after the call: every kernel test below then also runs on operands that live in wasm
 * memory, the zero-copy path, sentinels past the end included.
 */
function inMemory(b: WasmBackend): WasmBackend {
  return new Proxy(b, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (typeof v !== 'function' || prop === 'alloc' || prop === 'dispose') return v;
      return (...args: unknown[]) => {
        const copies = new Map<Float32Array, Float32Array>();
        const place = (a: unknown): unknown => {
          if (Array.isArray(a)) return a.map(place);
          if (!(a instanceof Float32Array) || a.length === 0) return a;
          let c = copies.get(a);
          if (!c) { c = target.alloc!(a.length); c.set(a); copies.set(a, c); }
          return c;
        };
        const r = (v as (...x: unknown[]) => unknown).apply(target, args.map(place));
        for (const [a, c] of copies) a.set(c);
        return r;
      };
    },
  });
}
const BACKENDS: [string, WasmBackend][] = [
  ['1 thread', wasm1], ['2 threads', wasm2], ['2 threads, every GEMM split', wasm2all], ['1 thread, owned memory', wasmOwned],
  ['1 thread, operands in wasm memory', inMemory(wasm1)], ['2 threads, every GEMM split, operands in wasm memory', inMemory(wasm2all)],
];
after(() => { wasm2.dispose(); wasm2all.dispose(); });

function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = scale * (2 * rng.uniform() - 1);
  return a;
}

/** Sentinels after the first `n` elements; `checkGuard` asserts a kernel left them alone. */
const GUARD = 5, SENTINEL = -12345.5;
function guarded(values: ArrayLike<number>): Float32Array {
  const a = new Float32Array(values.length + GUARD).fill(SENTINEL);
  a.set(values);
  return a;
}
function checkGuard(a: Float32Array, n: number, what: string): void {
  for (let i = n; i < a.length; i++) assert.equal(a[i], SENTINEL, `${what}: wrote past element ${n} (index ${i})`);
}

// ---------------------------------------------------------------------------------------------
// GEMM

/**
 * Sizes: the brief's odd ones, every residue of m mod 4 and n mod 8 (the 4×8 micro-kernel's
 * edges), k around the unroll/KC block (256) boundaries, m past one MC block (128), n past one
 * NC block (2048), and the MLP shapes.
 */
const SIZES: [number, number, number][] = [
  [1, 1, 1], [3, 5, 7], [17, 13, 9], [64, 33, 65], [2, 6, 3], [5, 9, 2], [6, 15, 11], [7, 10, 300],
  [4, 8, 256], [9, 17, 257], [130, 23, 19], [3, 2050, 5], [128, 10, 256], [128, 256, 784],
];
const COEFFICIENTS: [number, number][] = [[1, 0], [0.5, 0], [1, 1], [-0.7, 0.3], [2, -1.5]];

/**
 * Everything from here to the module checks runs on six backends of the same variant: one
 * thread (over a shared memory, as in Node), two threads with the default tuning (GEMMs from
 * PARALLEL_GEMM_FLOPS on are split), two threads splitting every GEMM with k > 0 into
 * chunks as small as one micro-tile (8 columns or 4 rows), so odd sizes exercise the block
 * edges of the threaded path too, one thread on the module that owns its memory (browsers
 * without cross-origin isolation), and the first and third with operands in wasm memory.
 */
for (const [T, wasm] of BACKENDS) {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const [m, n, k] of SIZES) {
        test(`wasm (${V}, ${T}): gemm transA=${transA} transB=${transB} ${m}×${n}×${k} vs js, (α, β) ∈ {${COEFFICIENTS.map((c) => c.join(', ')).join('; ')}}`, () => {
          const rng = new Rng(7919 * m + 31 * n + k + (transA ? 1 : 0) + (transB ? 2 : 0));
          const a = randomArray(rng, m * k), b = randomArray(rng, k * n);
          for (const [alpha, beta] of COEFFICIENTS) {
            const c0 = randomArray(rng, m * n, 2);
            const cWasm = guarded(c0), cJs = c0.slice();
            wasm.gemm(transA, transB, m, n, k, alpha, a, b, beta, cWasm);
            jsBackend.gemm(transA, transB, m, n, k, alpha, a, b, beta, cJs);
            const what = `gemm(${transA}, ${transB}, ${m}, ${n}, ${k}, α=${alpha}, β=${beta})`;
            assertClose(cWasm.subarray(0, m * n), cJs, GEMM_RTOL, what);
            checkGuard(cWasm, m * n, what);
          }
        });
      }
    }
  }

  test(`wasm (${V}, ${T}): gemm with β = 0 never reads C (NaN and ±∞ in C do not propagate)`, () => {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const [m, n, k] of [[6, 7, 5], [9, 17, 300], [128, 256, 64]]) {
          const rng = new Rng(m + n + k);
          const a = randomArray(rng, m * k), b = randomArray(rng, k * n);
          const c = new Float32Array(m * n).fill(NaN);
          c[3] = Infinity; c[4] = -Infinity;
          const ref = new Float32Array(m * n);
          wasm.gemm(transA, transB, m, n, k, 0.5, a, b, 0, c);
          jsBackend.gemm(transA, transB, m, n, k, 0.5, a, b, 0, ref);
          assert.ok(c.every(Number.isFinite), `NaN/Inf from C propagated (${m}×${n}×${k}, transA=${transA}, transB=${transB})`);
          assertClose(c, ref, GEMM_RTOL, `β = 0 over NaN (${m}×${n}×${k}, transA=${transA}, transB=${transB})`);
        }
      }
    }
  });

  test(`wasm (${V}, ${T}): gemm with k = 0 gives C ← β·C`, () => {
    for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]]) {
      const c = guarded([1, -2, 3, 4, 5, -6]);
      wasm.gemm(transA, transB, 2, 3, 0, 1, new Float32Array(0), new Float32Array(0), -0.25, c);
      assert.deepEqual([...c.subarray(0, 6)], [-0.25, 0.5, -0.75, -1, -1.25, 1.5]);
      checkGuard(c, 6, 'gemm k = 0');
      const z = new Float32Array(6).fill(NaN);
      wasm.gemm(transA, transB, 2, 3, 0, 1, new Float32Array(0), new Float32Array(0), 0, z);
      assert.deepEqual([...z], [0, 0, 0, 0, 0, 0]);
    }
  });

  test(`wasm (${V}, ${T}): gemm on subarray views with nonzero (unaligned) offsets`, () => {
    const rng = new Rng(3);
    for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]]) {
      for (const [m, n, k] of [[5, 3, 4], [37, 29, 41], [128, 64, 100]]) {
        // Parents longer than the views on both sides; the kernel may touch only its window of C.
        const aBig = randomArray(rng, 7 + m * k + 3), bBig = randomArray(rng, 11 + k * n + 2);
        const c0 = randomArray(rng, m * n);
        const cBig = new Float32Array(5 + m * n + GUARD).fill(SENTINEL);
        cBig.set(c0, 5);
        const a = aBig.subarray(7, 7 + m * k + 1), b = bBig.subarray(11), c = cBig.subarray(5);
        const ref = c0.slice();
        wasm.gemm(transA, transB, m, n, k, 0.75, a, b, 1, c);
        jsBackend.gemm(transA, transB, m, n, k, 0.75, a, b, 1, ref);
        assertClose(c.subarray(0, m * n), ref, GEMM_RTOL, `gemm on views ${m}×${n}×${k} (${transA}, ${transB})`);
        for (let i = 0; i < 5; i++) assert.equal(cBig[i], SENTINEL, 'wrote before the view');
        checkGuard(c, m * n, 'gemm on views');
      }
    }
  });

  test(`wasm (${V}, ${T}): memory grows for a large call and later small calls still work`, () => {
    const rng = new Rng(77);
    const n = 3_000_000; // 12 MB per region: past the initial memory
    const x = randomArray(rng, n), y = new Float32Array(n);
    wasm.relu(x, y, n);
    for (let i = 0; i < n; i += 997) assert.equal(y[i], x[i] > 0 ? x[i] : 0);
    assert.equal(y[n - 1], x[n - 1] > 0 ? x[n - 1] : 0);
    const [m, nn, k] = [300, 200, 500];
    const a = randomArray(rng, m * k), b = randomArray(rng, k * nn), c = new Float32Array(m * nn), ref = new Float32Array(m * nn);
    wasm.gemm(false, true, m, nn, k, 1, a, b, 0, c);
    jsBackend.gemm(false, true, m, nn, k, 1, a, b, 0, ref);
    assertClose(c, ref, GEMM_RTOL, 'gemm after growth');
    const small = new Float32Array([1, -1, 2]), out = new Float32Array(3);
    wasm.relu(small, out, 3);
    assert.deepEqual([...out], [1, 0, 2]);
  });

  test(`wasm (${V}, ${T}): gemm rejects operands shorter than the call needs`, () => {
    assert.throws(() => wasm.gemm(false, false, 2, 2, 2, 1, new Float32Array(3), new Float32Array(4), 0, new Float32Array(4)), RangeError);
  });

  // ---------------------------------------------------------------------------------------------
  // Everything else, against jsBackend

  /** Elementwise sizes: empty tail, every residue mod 4, and a large one. */
  const COUNTS = [1, 2, 3, 4, 5, 7, 64, 1001, 32768];

  test(`wasm (${V}, ${T}): relu, reluBackward and mul equal js exactly`, () => {
    const rng = new Rng(21);
    for (const n of COUNTS) {
      const x = randomArray(rng, n, 3), dy = randomArray(rng, n, 2);
      if (n > 4) { x[0] = 0; x[1] = -0; x[2] = 1e-30; x[3] = -1e-30; }
      const y = guarded(new Float32Array(n)), yRef = new Float32Array(n);
      wasm.relu(x, y, n); jsBackend.relu(x, yRef, n);
      assert.deepEqual([...y.subarray(0, n)], [...yRef], `relu n=${n}`);
      checkGuard(y, n, 'relu');
      const dx = guarded(new Float32Array(n)), dxRef = new Float32Array(n);
      wasm.reluBackward(yRef, dy, dx, n); jsBackend.reluBackward(yRef, dy, dxRef, n);
      assert.deepEqual([...dx.subarray(0, n)], [...dxRef], `reluBackward n=${n}`);
      checkGuard(dx, n, 'reluBackward');
      const p = guarded(new Float32Array(n)), pRef = new Float32Array(n);
      wasm.mul(x, dy, p, n); jsBackend.mul(x, dy, pRef, n);
      assert.deepEqual([...p.subarray(0, n)], [...pRef], `mul n=${n}`);
      checkGuard(p, n, 'mul');
    }
    // In place, as callers may use them.
    const a = randomArray(rng, 9), b = randomArray(rng, 9), expected = a.map((v, i) => Math.fround(v * b[i]));
    wasm.mul(a, b, a, 9);
    assert.deepEqual([...a], [...expected]);
  });

  test(`wasm (${V}, ${T}): tanh and tanhBackward within float32 rounding of js`, () => {
    const rng = new Rng(22);
    for (const n of COUNTS) {
      const x = randomArray(rng, n, 4);
      if (n > 8) { x[0] = 0; x[1] = 20; x[2] = -20; x[3] = 0.625; x[4] = -0.6249; x[5] = 1e-20; x[6] = 100; x[7] = -1e-3; }
      const y = guarded(new Float32Array(n)), yRef = new Float32Array(n);
      wasm.tanh(x, y, n); jsBackend.tanh(x, yRef, n);
      for (let i = 0; i < n; i++) {
        assert.ok(Math.abs(y[i] - yRef[i]) <= 2.5e-7 * Math.abs(yRef[i]), `tanh(${x[i]}) = ${y[i]}, js ${yRef[i]}`);
      }
      if (n > 8) { assert.equal(y[1], 1); assert.equal(y[2], -1); assert.equal(y[0], 0); }
      checkGuard(y, n, 'tanh');
      const dy = randomArray(rng, n, 3);
      const dx = guarded(new Float32Array(n)), dxRef = new Float32Array(n);
      wasm.tanhBackward(yRef, dy, dx, n); jsBackend.tanhBackward(yRef, dy, dxRef, n);
      assertClose(dx.subarray(0, n), dxRef, 1e-6, `tanhBackward n=${n}`);
      checkGuard(dx, n, 'tanhBackward');
    }
  });

  test(`wasm (${V}, ${T}): gelu and geluBackward within 1e-6 of js (relative in the negative tail)`, () => {
    const xs: number[] = [];
    for (let x = -14; x <= 10; x += 0.03125) xs.push(x);
    xs.push(0, -0, 0.7071, -0.3, 1e-4, -1e-4, 30, -30, Infinity);
    const x = new Float32Array(xs), n = x.length;
    const y = guarded(new Float32Array(n)), yRef = new Float32Array(n);
    wasm.gelu(x, y, n); jsBackend.gelu(x, yRef, n);
    for (let i = 0; i < n; i++) {
      const d = Math.abs(y[i] - yRef[i]);
      assert.ok(d <= 1e-6 || y[i] === yRef[i], `gelu(${x[i]}) = ${y[i]}, js ${yRef[i]}`);
      // The tail is tiny but still resolved: relative to its own size (while float32 is normal).
      if (x[i] < -0.5 && Math.abs(yRef[i]) > 1e-37) assert.ok(d <= 1e-6 * Math.abs(yRef[i]), `gelu(${x[i]}) = ${y[i]}, js ${yRef[i]} (relative)`);
    }
    checkGuard(y, n, 'gelu');
    const rng = new Rng(23);
    const dy = randomArray(rng, n, 2);
    const dx = guarded(new Float32Array(n - 1)), dxRef = new Float32Array(n - 1);
    const finite = x.subarray(0, n - 1); // GELU'(∞)·dy: both give dy, but keep the oracle's input finite
    wasm.geluBackward(finite, dy, dx, n - 1); jsBackend.geluBackward(finite, dy, dxRef, n - 1);
    for (let i = 0; i < n - 1; i++) {
      assert.ok(Math.abs(dx[i] - dxRef[i]) <= 1e-6 * Math.max(1, Math.abs(dxRef[i])), `geluBackward at ${x[i]}: ${dx[i]}, js ${dxRef[i]}`);
    }
    checkGuard(dx, n - 1, 'geluBackward');
  });

  test(`wasm (${V}, ${T}): addRowVector equals js exactly, sumRowsInto within 1e-7`, () => {
    const rng = new Rng(24);
    for (const [rows, cols] of [[1, 1], [7, 5], [3, 4], [128, 10], [33, 257], [128, 256], [1, 1000]]) {
      const y0 = randomArray(rng, rows * cols), bias = randomArray(rng, cols);
      const y = guarded(y0), yRef = y0.slice();
      wasm.addRowVector(y, bias, rows, cols); jsBackend.addRowVector(yRef, bias, rows, cols);
      assert.deepEqual([...y.subarray(0, rows * cols)], [...yRef], `addRowVector ${rows}×${cols}`);
      checkGuard(y, rows * cols, 'addRowVector');
      const out0 = randomArray(rng, cols);
      const out = guarded(out0), outRef = out0.slice();
      for (let twice = 0; twice < 2; twice++) { // accumulates, does not overwrite
        wasm.sumRowsInto(y0, rows, cols, out); jsBackend.sumRowsInto(y0, rows, cols, outRef);
      }
      assertClose(out.subarray(0, cols), outRef, 1e-7, `sumRowsInto ${rows}×${cols}`);
      checkGuard(out, cols, 'sumRowsInto');
    }
  });

  test(`wasm (${V}, ${T}): softmaxCrossEntropy within 1e-6 of js`, () => {
    const rng = new Rng(25);
    for (const [rows, cols] of [[1, 1], [1, 3], [13, 7], [128, 10], [5, 4], [31, 33]]) {
      for (const spread of [1, 6, 40]) {
        const logits = randomArray(rng, rows * cols, spread);
        const labels = new Int32Array(rows).map(() => rng.int(cols));
        const dl = guarded(new Float32Array(rows * cols).fill(NaN)), dlRef = new Float32Array(rows * cols);
        const total = wasm.softmaxCrossEntropy(logits, labels, rows, cols, dl, 1 / rows);
        const ref = jsBackend.softmaxCrossEntropy(logits, labels, rows, cols, dlRef, 1 / rows);
        assert.ok(Math.abs(total - ref) <= 1e-6 * Math.max(1, ref), `CE ${rows}×${cols} spread ${spread}: ${total}, js ${ref}`);
        assertClose(dl.subarray(0, rows * cols), dlRef, 1e-6, `dlogits ${rows}×${cols} spread ${spread}`);
        checkGuard(dl, rows * cols, 'softmaxCrossEntropy');
      }
    }
    // Stable with logits of ±1e4 (the js test's rows), and NaN logits give a NaN loss.
    const logits = new Float32Array([1e4, -1e4, 0, 1e4 - 5, -1e4, -1e4, -1e4, -1e4, 1e4, 1e4, 1e4, 1e4]);
    const labels = new Int32Array([1, 2, 0]);
    const dl = new Float32Array(12), dlRef = new Float32Array(12);
    const ce = wasm.softmaxCrossEntropy(logits, labels, 3, 4, dl, 1);
    const ceRef = jsBackend.softmaxCrossEntropy(logits, labels, 3, 4, dlRef, 1);
    assert.ok(Number.isFinite(ce) && Math.abs(ce - ceRef) <= 1e-6 * ceRef, `CE with ±1e4: ${ce}, js ${ceRef}`);
    assertClose(dl, dlRef, 1e-6, 'dlogits with ±1e4');
    const bad = new Float32Array([0, NaN, 1, 2]);
    assert.ok(Number.isNaN(wasm.softmaxCrossEntropy(bad, new Int32Array([0]), 1, 4, new Float32Array(4), 1)), 'NaN logits must give a NaN loss');
  });

  test(`wasm (${V}, ${T}): sumSquares accumulates in float64 like js`, () => {
    const rng = new Rng(26);
    for (const n of COUNTS) {
      const x = randomArray(rng, n, 5);
      const s = wasm.sumSquares(x, n), ref = jsBackend.sumSquares(x, n);
      assert.ok(Math.abs(s - ref) <= 1e-12 * ref, `sumSquares n=${n}: ${s}, js ${ref}`);
    }
    const x = randomArray(rng, 100);
    assert.equal(wasm.sumSquares(x.subarray(3), 10), jsBackend.sumSquares(x.subarray(3), 10));
    const big = new Float32Array(1001).fill(1);
    big[0] = 4096; // 4096² = 2^24: in float32 the 1000 ones would be lost
    assert.equal(wasm.sumSquares(big, big.length), 16777216 + 1000);
  });

  // ---------------------------------------------------------------------------------------------
  // Training parity with PyTorch (as test/train/torch-parity.test.ts, on the wasm backend)

  // PyTorch parity through a Trainer runs on every backend in test/train/torch-parity.test.ts.

  test(`wasm (${V}, ${T}): an MLP training step matches js (784-64-10, B = 32, 3 steps)`, () => {
    const rng = new Rng(27);
    const count = 96;
    const images = new Float32Array(count * 784).map(() => rng.uniform());
    const labels = new Int32Array(count).map(() => rng.int(10));
    const config: TrainConfig = {
      model: { inputSize: 784, classes: 10, layers: [{ type: 'dense', units: 64 }, { type: 'tanh' }, { type: 'dense', units: 10 }] },
      optimizer: { name: 'momentum', schedule: { type: 'constant', lr: 0.05 }, momentum: 0.9 },
      batchSize: 32, epochs: 1, seed: 5, regularization: [],
    };
    const data = createDataset(images, labels, [784], 10);
    const trainers = [new Trainer(config, wasm, data), new Trainer(config, jsBackend, data)];
    for (let s = 0; s < 3; s++) {
      const x = images.subarray(s * 32 * 784, (s + 1) * 32 * 784), y = labels.subarray(s * 32, (s + 1) * 32);
      const [lw, lj] = trainers.map((t) => t.trainStep(x, y, 32).dataLoss);
      assert.ok(Math.abs(lw - lj) <= 1e-5 * lj, `loss at step ${s}: wasm ${lw}, js ${lj}`);
    }
    trainers[0].model.params.forEach((p, i) => assertClose(p.value, trainers[1].model.params[i].value, 1e-5, p.name));
  });
}

// ---------------------------------------------------------------------------------------------
// Threads: bit-identical to one thread, the size threshold, the default, dispose, failures

/** Asserts a and b hold the same bits (Object.is: NaN and −0 count). */
function assertSameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i} differs: ${a[i]} vs ${b[i]} (one thread)`);
  }
}

test(`wasm (${V}): 2-thread GEMM equals the 1-thread GEMM bit for bit (all transposes, split by rows and by columns, around the threshold)`, () => {
  // 128×64×244 is just under PARALLEL_GEMM_FLOPS (3.997e6), 128×64×245 just over (4.014e6);
  // 64×6272×288 is a conv layer's im2col GEMM (split by columns), 600×40×300 split by rows,
  // 5×9001×3 more columns than 4095 one-tile chunks.
  const shapes: [number, number, number][] = [
    [128, 64, 244], [128, 64, 245], [64, 6272, 288], [600, 40, 300], [133, 1001, 77], [128, 256, 784], [5, 9001, 3], [9, 17, 257],
  ];
  const before = wasm2.gemmStats!.gemms;
  let expectedSplit = 0;
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    for (const [m, n, k] of shapes) {
      const rng = new Rng(m * 131 + n * 7 + k);
      const a = randomArray(rng, m * k), b = randomArray(rng, k * n);
      for (const [alpha, beta] of [[1, 0], [-0.7, 0.3]]) {
        const c0 = randomArray(rng, m * n);
        if (beta === 0) c0.fill(NaN);
        const c1 = c0.slice(), c2 = c0.slice(), c3 = c0.slice();
        wasm1.gemm(ta, tb, m, n, k, alpha, a, b, beta, c1);
        wasm2.gemm(ta, tb, m, n, k, alpha, a, b, beta, c2);
        wasm2all.gemm(ta, tb, m, n, k, alpha, a, b, beta, c3);
        if (2 * m * n * k >= PARALLEL_GEMM_FLOPS) expectedSplit++;
        const what = `gemm(${ta}, ${tb}, ${m}, ${n}, ${k}, α=${alpha}, β=${beta})`;
        assertSameBits(c2, c1, `${what}, 2 threads`);
        assertSameBits(c3, c1, `${what}, 2 threads, every GEMM split`);
      }
    }
  }
  assert.equal(wasm2.gemmStats!.gemms - before, expectedSplit, 'GEMMs at or above PARALLEL_GEMM_FLOPS are split, smaller ones are not');
  const s = wasm2all.gemmStats!;
  console.log(`# wasm (${V}) threads: the worker computed ${s.chunks - s.callerChunks} of ${s.chunks} GEMM blocks (every-GEMM backend)`);
});

test(`wasm (${V}): the 2-thread optimizer step splits a large parameter and gives one thread's bits, in wasm memory or copied`, () => {
  const program = new Float64Array(3 * OP_SLOTS);
  encodeAddScaledWeights(program, 0, 2e-3);
  encodeMomentum(program, OP_SLOTS, 0.9, 1, false, false);
  encodeAdam(program, 2 * OP_SLOTS, 0.9, 0.999, 0.1, 0.05, 1e-8);
  // Just over PARAM_SPLIT_MIN, not a multiple of 4 or 16; then a 256×784 weight.
  for (const n of [PARAM_SPLIT_MIN + 3, 256 * 784]) {
    const rng = new Rng(n);
    const inputs = [0, 1, 2, 3, 4].map((i) => Float32Array.from(randomArray(rng, n), i === 4 ? Math.abs : (x: number) => x)); // w, u, b, m, v ≥ 0
    const run = (b: WasmBackend) => {
      const bufs = inputs.map((a) => a.slice());
      b.optimizerStep(bufs[0], bufs[1], n, program, bufs.slice(2));
      return bufs;
    };
    const one = run(wasm1);
    const split = wasm2.gemmStats!.optimizerSteps;
    for (const [what, b] of [['copied', wasm2], ['in wasm memory', inMemory(wasm2)]] as const) {
      run(b).forEach((x, i) => assertSameBits(x, one[i], `n = ${n}, ${what}: ${['w', 'u', 'b', 'm', 'v'][i]}`));
    }
    assert.equal(wasm2.gemmStats!.optimizerSteps - split, 2, 'both calls were split over the threads');
    const ref = inputs.map((a) => a.slice());
    jsBackend.optimizerStep(ref[0], ref[1], n, program, ref.slice(2));
    one.forEach((x, i) => assertSameBits(x, ref[i], `n = ${n}: 1 thread against js`));
  }
  const small = wasm2.gemmStats!.optimizerSteps;
  wasm2.optimizerStep(new Float32Array(256), new Float32Array(256), 256, program.subarray(0, OP_SLOTS), []);
  assert.equal(wasm2.gemmStats!.optimizerSteps, small, 'a bias-sized parameter stays on the calling thread');
});

test(`wasm (${V}): a CNN (conv, BN, pool, dense) trains to the same bits on 1 and 2 threads, with its buffers in wasm memory or copied`, () => {
  // B = 32: the first conv's im2col GEMM is 16 × 25088 × 9 (7.2 MFLOP, split by the default
  // backend too), the second's 32 × 6272 × 144.
  const rng = new Rng(41);
  const B = 32, count = 2 * B;
  const images = new Float32Array(count * 784).map(() => rng.uniform());
  const labels = new Int32Array(count).map(() => rng.int(10));
  const config: TrainConfig = {
    model: parseArch('conv:16x3p1,bn,relu,pool:2,conv:32x3p1,relu,pool:2,flatten,dense:10', [1, 28, 28], 10),
    optimizer: { name: 'momentum', schedule: { type: 'constant', lr: 0.05 }, momentum: 0.9 },
    batchSize: B, epochs: 1, seed: 3, regularization: [],
  };
  const data = createDataset(images, labels, [1, 28, 28], 10);
  const before = wasm2.gemmStats!.gemms;
  const trainers = [wasm1, wasm2, wasm2all, wasmOwned].map((b) => new Trainer(config, b, data));
  assert.ok(trainers[0].model.params[0].value.buffer instanceof SharedArrayBuffer, 'the 1-thread model lives in wasm memory');
  for (let s = 0; s < 2; s++) {
    const x = images.subarray(s * B * 784, (s + 1) * B * 784), y = labels.subarray(s * B, (s + 1) * B);
    const losses = trainers.map((t) => t.trainStep(x, y, B).dataLoss);
    assert.ok(losses.every((l) => Object.is(l, losses[0])), `losses at step ${s}: ${losses.join(', ')}`);
  }
  assert.ok(wasm2.gemmStats!.gemms > before, 'the default 2-thread backend split some of the conv GEMMs');
  trainers[0].model.params.forEach((p, i) => {
    assertSameBits(trainers[1].model.params[i].value, p.value, `${p.name}, 2 threads`);
    assertSameBits(trainers[2].model.params[i].value, p.value, `${p.name}, 2 threads, every GEMM split`);
    assertSameBits(trainers[3].model.params[i].value, p.value, `${p.name}, owned memory (every operand copied)`);
  });
});

test('wasm spatial kernels: inconsistent geometry and short arrays are RangeErrors, never reads or writes outside the arrays', () => {
  const conv = { channels: 2, height: 5, width: 5, kernel: 3, stride: 1, padding: 1, outHeight: 5, outWidth: 5 };
  const x = new Float32Array(2 * 5 * 5), cols = new Float32Array(2 * 9 * 25);
  wasm1.im2col(x, 1, conv, cols);
  assert.throws(() => wasm1.im2col(x, 1, { ...conv, outHeight: 6 }, cols), /outHeight 6 does not match the geometry: floor\(\(5 \+ 2\*1 - 3\)\/1\) \+ 1 = 5/);
  assert.throws(() => wasm1.col2im(cols, 1, { ...conv, stride: 0 }, x), /kernel and stride must be at least 1/);
  assert.throws(() => wasm1.im2col(x, 1, conv, cols.subarray(1)), /cols has 449 elements, the call needs 450/);
  assert.throws(() => wasm1.im2col(x, 2, conv, cols), RangeError);
  const pool = { height: 4, width: 4, kernelHeight: 2, kernelWidth: 2, stride: 2, outHeight: 2, outWidth: 2 };
  const y = new Float32Array(4), argmax = new Int32Array(4);
  assert.throws(() => wasm1.maxPool(new Float32Array(16), 1, { ...pool, outWidth: 3 }, y, argmax), /outWidth 3 does not match/);
  assert.throws(() => wasm1.avgPoolBackward(y, 1, { ...pool, height: 2.5 }, new Float32Array(16)), /height must be an integer/);
  assert.throws(() => wasm1.maxPool(new Float32Array(16), 1, pool, y, argmax.subarray(1)), /argmax has 3 elements/);
  assert.throws(() => wasm1.channelAffine(x, 1, 2, 25, new Float32Array(1), new Float32Array(2), x, false), /scale has 1 elements, the call needs 2/);
  assert.throws(() => wasm1.channelSums(x, x, 1, 2, 25, new Float32Array(2), new Float32Array(3), new Float32Array(2), new Float32Array(2)), /mask has 3 elements/);
});

test('wasm threads: the default is min(2, cores) in Node (select.ts), RIDGELINE_WASM_THREADS overrides it, threads: 1 is one thread', async () => {
  assert.equal(wasm1.threads, 1);
  assert.equal(wasm1.gemmStats, undefined);
  assert.equal(wasm2.threads, 2);
  assert.equal(defaultWasmThreads(), Math.min(2, availableParallelism()));
  const r = await tryLoad('wasm');
  assert.ok('backend' in r, `wasm did not load: ${'error' in r ? r.error : ''}`);
  assert.equal((r.backend as WasmBackend).threads, Math.min(2, availableParallelism()));
  (r.backend as WasmBackend).dispose();
  const saved = process.env.RIDGELINE_WASM_THREADS;
  try {
    process.env.RIDGELINE_WASM_THREADS = '1';
    const one = await loadNodeWasmBackend();
    assert.equal(one.threads, 1);
    process.env.RIDGELINE_WASM_THREADS = 'two';
    assert.throws(() => defaultWasmThreads(), /RIDGELINE_WASM_THREADS must be an integer/);
  } finally {
    if (saved === undefined) delete process.env.RIDGELINE_WASM_THREADS; else process.env.RIDGELINE_WASM_THREADS = saved;
  }
  await assert.rejects(loadWasmBackend({ threads: 2 }), /needs a worker spawner/);
  // Without SharedArrayBuffer (a browser page that is not cross-origin isolated) the default is
  // one thread, and asking for two says why not.
  const sab = globalThis.SharedArrayBuffer;
  try {
    // @ts-expect-error: removing it, as such a page lacks it
    delete globalThis.SharedArrayBuffer;
    assert.equal((await loadWasmBackend({ spawnWorker: spawnNodeWasmWorker })).threads, 1);
    await assert.rejects(loadWasmBackend({ threads: 2, spawnWorker: spawnNodeWasmWorker }), /wasm threads need SharedArrayBuffer/);
  } finally {
    globalThis.SharedArrayBuffer = sab;
  }
  await assert.rejects(loadWasmBackend({ threads: 0 }), RangeError);
});

test('wasm variant (Node): loadNodeWasmBackend picks relaxed SIMD (on Node 20 by turning it on), RIDGELINE_WASM_VARIANT=simd128 keeps SIMD128', async () => {
  const saved = process.env.RIDGELINE_WASM_VARIANT;
  const rng = new Rng(11);
  const [m, n, k] = [9, 37, 300];
  const a = randomArray(rng, m * k), b = randomArray(rng, k * n), ref = new Float32Array(m * n);
  jsBackend.gemm(false, false, m, n, k, 1, a, b, 0, ref);
  try {
    process.env.RIDGELINE_WASM_VARIANT = 'simd128';
    assert.equal(defaultWasmVariant(), 'simd128');
    assert.equal((await loadNodeWasmBackend({ threads: 1 })).variant, 'simd128');
    process.env.RIDGELINE_WASM_VARIANT = 'fast';
    assert.throws(() => defaultWasmVariant(), /RIDGELINE_WASM_VARIANT must be one of auto, relaxed-simd, simd128, got 'fast'/);
    const r = await tryLoad('wasm');
    assert.ok('error' in r && /RIDGELINE_WASM_VARIANT/.test(r.error), 'select.ts reports the bad value as why wasm did not load');
    delete process.env.RIDGELINE_WASM_VARIANT;
    const relaxed = await loadNodeWasmBackend({ threads: 1 });
    assert.equal(relaxed.variant, 'relaxed-simd', `Node ${process.versions.node} (V8 ${process.versions.v8})`);
    const c = new Float32Array(m * n);
    relaxed.gemm(false, false, m, n, k, 1, a, b, 0, c);
    const d = difference(c, ref);
    assert.ok(d.maxRel <= GEMM_RTOL, `relaxed gemm off by ${d.maxRel} (relative to max|C|)`);
  } finally {
    if (saved === undefined) delete process.env.RIDGELINE_WASM_VARIANT; else process.env.RIDGELINE_WASM_VARIANT = saved;
  }
});

test('wasm threads: dispose() ends the workers; the backend goes on, on one thread, with the same results', async () => {
  const b = await loadNodeWasmBackend({ variant: V, threads: 2, tuning: EVERY_GEMM });
  const rng = new Rng(5);
  const [m, n, k] = [40, 300, 50];
  const a = randomArray(rng, m * k), bb = randomArray(rng, k * n);
  const before = new Float32Array(m * n), afterDispose = new Float32Array(m * n), ref = new Float32Array(m * n);
  b.gemm(false, true, m, n, k, 1, a, bb, 0, before);
  b.dispose();
  b.dispose(); // idempotent
  assert.equal(b.threads, 1);
  const calls = b.gemmStats!.gemms;
  b.gemm(false, true, m, n, k, 1, a, bb, 0, afterDispose);
  assert.equal(b.gemmStats!.gemms, calls, 'no GEMM was handed to the threads after dispose');
  wasm1.gemm(false, true, m, n, k, 1, a, bb, 0, ref);
  assertSameBits(before, ref, 'before dispose');
  assertSameBits(afterDispose, ref, 'after dispose');
});

/**
 * A module with the shared module's imports and a `gemm_part` that misbehaves, handed to the
 * worker in place of the real one (the calling thread keeps the real module).
 */
async function sabotagedBackend(body: string, timeoutMs: number): Promise<WasmBackend> {
  const params = '(param i32 i32 i32 i32 i32 f32 i32 i32 f32 i32 i32 i32 i32 i32 i32)';
  const bad = await WebAssembly.compile(await assemble(
    `(module (import "env" "memory" (memory 16 65536 shared)) (func (export "gemm_part") ${params} ${body}))`));
  const spawnWorker: SpawnWasmWorker = () => {
    const w = spawnNodeWasmWorker();
    return { ...w, postMessage: (m) => w.postMessage({ ...(m as WasmWorkerInit), module: bad }) };
  };
  return loadWasmBackend({ variant: V, threads: 2, spawnWorker, timeoutMs, tuning: EVERY_GEMM });
}

/** GEMMs of 512 one-tile blocks until one throws (the worker takes a block within a few calls). */
function gemmUntilThrow(b: WasmBackend): Error {
  const rng = new Rng(9);
  const [m, n, k] = [16, 4096, 16];
  const a = randomArray(rng, m * k), bb = randomArray(rng, k * n), c = new Float32Array(m * n);
  for (let i = 0; i < 2000; i++) {
    try {
      b.gemm(false, false, m, n, k, 1, a, bb, 0, c);
    } catch (e) {
      return e as Error;
    }
  }
  assert.fail('the sabotaged worker never took a GEMM block');
}

test('wasm threads: a worker that traps in gemm fails the call with its message, and every later call', async () => {
  const b = await sabotagedBackend('unreachable', 60_000);
  const e = gemmUntilThrow(b);
  assert.match(e.message, /^wasm backend: worker thread 1 failed in gemm: .*unreachable/);
  assert.equal(b.threads, 1, 'the workers are shut down');
  assert.throws(() => b.gemm(false, false, 64, 64, 64, 1, new Float32Array(4096), new Float32Array(4096), 0, new Float32Array(4096)),
    /a worker thread failed earlier/);
});

test('wasm threads: a worker that fails in its part of an optimizer step fails the call with its message', async () => {
  // The sabotaged module has no optimizer_step, so the worker's part throws.
  const b = await sabotagedBackend('unreachable', 60_000);
  const n = PARAM_SPLIT_MIN;
  const w = new Float32Array(n), u = new Float32Array(n).fill(1);
  let error: Error | undefined;
  for (let i = 0; i < 2000 && !error; i++) {
    try { b.optimizerStep(w, u, n, new Float64Array(0), []); } catch (e) { error = e as Error; }
  }
  assert.ok(error, 'the sabotaged worker never took an optimizer block');
  assert.match(error.message, /^wasm backend: worker thread 1 failed in the optimizer step: /);
  assert.throws(() => b.optimizerStep(w, u, n, new Float64Array(0), []), /a worker thread failed earlier/);
});

test('wasm threads: a worker that never finishes its block fails the call after timeoutMs, not a hang', async () => {
  const b = await sabotagedBackend('(loop $forever (br $forever))', 300);
  const t0 = performance.now();
  const e = gemmUntilThrow(b);
  assert.match(e.message, /^wasm backend: a worker thread held a GEMM block for over 300 ms without finishing it/);
  assert.ok(performance.now() - t0 < 30_000, 'it took too long to notice');
  assert.throws(() => b.gemm(false, false, 64, 64, 64, 1, new Float32Array(4096), new Float32Array(4096), 0, new Float32Array(4096)),
    /a worker thread failed earlier/);
});

test('wasm threads: a worker that dies before it is ready fails the load with a one-line reason', async () => {
  const spawnWorker: SpawnWasmWorker = () => {
    const w = new Worker('process.exit(3)', { eval: true });
    return {
      postMessage: (m) => w.postMessage(m),
      listen: (_onMessage, onExit) => { w.on('exit', (code) => onExit(`worker exited (code ${code})`)); },
      terminate: () => { void w.terminate(); },
    };
  };
  await assert.rejects(loadWasmBackend({ variant: V, threads: 2, spawnWorker }),
    (e: Error) => /^wasm threads: worker thread 1: worker exited \(code 3\)$/.test(e.message));
});

test('wasm threads: idle workers do not keep the process alive', () => {
  const script = `
    import { loadNodeWasmBackend } from ${JSON.stringify(new URL('../../src/kernels/wasm/node.ts', import.meta.url).href)};
    const b = await loadNodeWasmBackend({ threads: 2 });
    const c = new Float32Array(256 * 256);
    b.gemm(false, false, 256, 256, 256, 1, new Float32Array(256 * 256).fill(1), new Float32Array(256 * 256).fill(1), 0, c);
    console.log(b.threads, c[0], b.gemmStats.gemms);`;
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.signal, null, `the child did not exit by itself (killed by ${r.signal} after 120 s): ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '2 256 1');
});

// ---------------------------------------------------------------------------------------------
// The build's modules and the loader

test('wasm modules: SIMD128 validates and compiles here; relaxed-SIMD bytes are produced and well-formed', async () => {
  const simd = bytesOf(embedded.SIMD_WASM_BASE64), relaxed = bytesOf(embedded.RELAXED_WASM_BASE64);
  for (const bytes of [simd, relaxed]) assert.deepEqual([...bytes.subarray(0, 8)], [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0], 'wasm magic + version 1');
  assert.ok(WebAssembly.validate(simd), 'the SIMD128 module validates');
  await WebAssembly.compile(simd);
  // wabt re-reads the relaxed module with the relaxed-SIMD feature: well-formed and valid.
  const wabt = await (createRequire(import.meta.url)('wabt') as typeof import('wabt'))();
  const module = wabt.readWasm(relaxed, { simd: true, relaxed_simd: true });
  module.validate();
  assert.match(module.toText({}), /f32x4\.relaxed_madd/);
  module.destroy();
  // The shared-memory builds (threads > 1): same code, importing env.memory as a shared memory.
  for (const [b64, relaxedOps] of [[embedded.SIMD_SHARED_WASM_BASE64, false], [embedded.RELAXED_SHARED_WASM_BASE64, true]] as const) {
    const shared = wabt.readWasm(bytesOf(b64), { simd: true, relaxed_simd: true, threads: true });
    (shared.validate as (this: typeof shared, f: object) => void)({ simd: true, relaxed_simd: true, threads: true });
    const text = shared.toText({});
    assert.match(text, /\(import "env" "memory" \(memory \(;0;\) 16 65536 shared\)\)/);
    assert.match(text, /\(export "gemm_part"/);
    assert.equal(/\.relaxed_madd/.test(text), relaxedOps);
    shared.destroy();
  }
  const plain = wabt.readWasm(simd, { simd: true, relaxed_simd: false });
  assert.ok(!/\.relaxed_/.test(plain.toText({})), 'the SIMD128 module uses no relaxed instruction');
  plain.destroy();
  if (WebAssembly.validate(relaxed)) {
    await WebAssembly.compile(relaxed);
    const b = await loadWasmBackend();
    assert.equal(b.variant, 'relaxed-simd', 'auto picks relaxed SIMD where it validates');
  } else {
    assert.equal((await loadWasmBackend()).variant, 'simd128', 'auto falls back to SIMD128');
    await assert.rejects(loadWasmBackend({ variant: 'relaxed-simd' }), /relaxed SIMD/);
  }
});

const CHILD = process.env.RIDGELINE_WASM_VARIANT !== undefined;
test('wasm (relaxed-simd): this file passes in a child Node with --experimental-wasm-relaxed-simd',
  { skip: CHILD || RELAXED_AT_START ? 'relaxed SIMD is the variant under test here' : false },
  () => {
    const file = new URL(import.meta.url).pathname;
    // Without NODE_TEST_CONTEXT the child reports in TAP on its stdout rather than to this runner.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', '--test', '--test-reporter=tap', file], {
      env: { ...env, RIDGELINE_WASM_VARIANT: 'relaxed-simd' }, encoding: 'utf8', timeout: 300_000,
    });
    const summary = (r.stdout ?? '').split('\n').filter((l) => /^# (tests|pass|fail)/.test(l)).join(', ');
    assert.equal(r.status, 0, `child run failed (${summary}):\n${(r.stdout ?? '').split('\n').filter((l) => /not ok|Error|expected|actual/.test(l)).slice(0, 30).join('\n')}\n${r.stderr}`);
    assert.match(r.stdout, /# fail 0/);
  });

test('wasm loader: select.ts loads it as "wasm"; a runtime without SIMD gets a one-line reason', async () => {
  const r = await tryLoad('wasm');
  assert.ok('backend' in r, `wasm did not load: ${'error' in r ? r.error : ''}`);
  assert.equal(r.backend.name, 'wasm');
  const validate = WebAssembly.validate;
  try {
    WebAssembly.validate = () => false;
    await assert.rejects(loadWasmBackend(), (e: Error) => /does not support WebAssembly SIMD/.test(e.message) && !e.message.includes('\n'));
  } finally {
    WebAssembly.validate = validate;
  }
});

test('wasm backend instantiated from given bytes reports the given variant', async () => {
  const b: Backend = await instantiateWasmBackend(bytesOf(embedded.SIMD_WASM_BASE64), 'simd128');
  const c = new Float32Array(4);
  b.gemm(false, false, 2, 2, 1, 1, new Float32Array([1, 2]), new Float32Array([3, 4]), 0, c);
  assert.deepEqual([...c], [3, 4, 6, 8]);
});
