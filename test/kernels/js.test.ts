/**
 * Backend kernels against direct float64 formulas written here: a naive triple-loop GEMM, and a
 * high-precision erf (Taylor series / continued fraction) for GELU. The loops run over
 * `backends`, so a future wasm or native backend is checked against the same oracle by adding it
 * to the list.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/kernels/backend.js';
import { jsBackend, erfc as jsErfc, normalCdf as jsNormalCdf } from '../../src/kernels/js/index.js';
import { Rng } from '../../src/tensor/rng.js';
import { assertClose } from '../helpers/close.js';

const backends: Backend[] = [jsBackend];

// ---------------------------------------------------------------------------------------------
// Float64 references

/** C_ref = α·op(A)·op(B) + β·C0 in float64, straight from the definition (β = 0 ignores C0). */
function naiveGemm(transA: boolean, transB: boolean, m: number, n: number, k: number,
  alpha: number, a: Float32Array, b: Float32Array, beta: number, c0: Float32Array): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const aip = transA ? a[p * m + i] : a[i * k + p]; // A stored k×m when transposed
        const bpj = transB ? b[j * k + p] : b[p * n + j]; // B stored n×k when transposed
        s += aip * bpj;
      }
      out[i * n + j] = beta === 0 ? alpha * s : alpha * s + beta * c0[i * n + j];
    }
  }
  return out;
}

/**
 * erfc(z) for z ≥ 0: the Maclaurin series of erf below 3 (its largest term is ~170 at z = 3, so
 * cancellation costs ~1e-14 absolute, < 1e-9 relative to erfc(3) = 2.2e-5), Laplace's continued
 * fraction above (~1e-15 relative).
 */
function erfcPositive(z: number): number {
  if (z < 3) {
    let term = z, sum = z;
    for (let n = 1; n < 300; n++) {
      term *= (-z * z) / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-18) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(z) = e^{-z²}/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))), evaluated bottom-up.
  let f = z;
  for (let kk = 200; kk >= 1; kk--) f = z + kk / 2 / f;
  return Math.exp(-z * z) / (Math.sqrt(Math.PI) * f);
}
const erfcRef = (x: number) => (x >= 0 ? erfcPositive(x) : 2 - erfcPositive(-x));
const PhiRef = (x: number) => 0.5 * erfcRef(-x / Math.SQRT2);
const phiRef = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);

function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = scale * (2 * rng.uniform() - 1);
  return a;
}

/** Writes sentinels after the first `n` elements; `checkGuard` asserts a kernel left them alone. */
const GUARD = 4, SENTINEL = -12345.5;
function guarded(values: Float32Array): Float32Array {
  const a = new Float32Array(values.length + GUARD).fill(SENTINEL);
  a.set(values);
  return a;
}
function checkGuard(a: Float32Array, n: number, what: string): void {
  for (let i = n; i < a.length; i++) assert.equal(a[i], SENTINEL, `${what}: wrote past element ${n} (index ${i})`);
}

// ---------------------------------------------------------------------------------------------
// The reference erf itself, against published values (so the oracle is not the thing under test)

test('reference erfc matches tabulated values', () => {
  // erf(0.5), erf(1), erf(2) (Abramowitz & Stegun 7.1), erfc(3), erfc(5), erfc(10).
  const cases: [number, number][] = [
    [0.5, 1 - 0.5204998778130465], [1, 1 - 0.8427007929497149], [2, 1 - 0.9953222650189527],
    [3, 2.209049699858544e-5], [5, 1.5374597944280349e-12], [10, 2.088487583762545e-45],
    [-1, 1 + 0.8427007929497149],
  ];
  for (const [x, expected] of cases) {
    const got = erfcRef(x);
    assert.ok(Math.abs(got - expected) <= 1e-13 * expected, `erfcRef(${x}) = ${got}, expected ${expected}`);
  }
  // Both branches agree at the switch point (the series loses ~1e-14 absolute to cancellation).
  assert.ok(Math.abs(erfcPositive(3 - 1e-12) - erfcPositive(3)) < 1e-13);
});

test('js erfc/normalCdf: fractional error below 1.2e-7 (as documented)', () => {
  let worst = 0, at = 0;
  for (let x = -6; x <= 9; x += 0.01) {
    const rel = Math.abs(jsErfc(x) - erfcRef(x)) / erfcRef(x);
    if (rel > worst) { worst = rel; at = x; }
  }
  assert.ok(worst < 1.2e-7, `erfc fractional error ${worst} at x = ${at}`);
  for (let x = -8; x <= 8; x += 0.05) {
    const ref = PhiRef(x);
    assert.ok(Math.abs(jsNormalCdf(x) - ref) <= 1.2e-7 * ref, `normalCdf(${x}) = ${jsNormalCdf(x)}, expected ${ref}`);
  }
});

// ---------------------------------------------------------------------------------------------

// m and n cover every residue mod 4 (a blocked kernel's edge cases), k includes 1 and 2.
const SIZES: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [17, 13, 9], [64, 33, 65], [2, 6, 3], [6, 7, 2], [4, 4, 4], [5, 2, 11]];
const ALPHAS = [1, 0.5];
const BETAS = [0, 1, -0.25];

// The reference's packed, blocked loops must not change one bit: each element is the naive
// float64 sum in increasing p, rounded once. Sizes cross the 192-row packing block and
// every residue of the 3×4 register block.
test('js: gemm is bit-identical to the naive float64 loop rounded once to float32', () => {
  for (const [m, n, k] of [...SIZES, [200, 9, 5], [193, 4, 31], [384, 3, 2], [10, 10, 300]] as [number, number, number][]) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const rng = new Rng(7 * m + 3 * n + k);
        const a = randomArray(rng, m * k), b = randomArray(rng, k * n), c0 = randomArray(rng, m * n, 2);
        for (const [alpha, beta] of [[1, 0], [0.7, -0.3]]) {
          const c = c0.slice();
          jsBackend.gemm(transA, transB, m, n, k, alpha, a, b, beta, c);
          const expected = naiveGemm(transA, transB, m, n, k, alpha, a, b, beta, c0);
          for (let i = 0; i < m * n; i++) {
            if (!Object.is(c[i], Math.fround(expected[i]))) {
              assert.fail(`gemm(${transA}, ${transB}, ${m}, ${n}, ${k}, α=${alpha}, β=${beta})[${i}] = ${c[i]}, naive ${Math.fround(expected[i])}`);
            }
          }
        }
      }
    }
  }
});

for (const backend of backends) {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const [m, n, k] of SIZES) {
        test(`${backend.name}: gemm transA=${transA} transB=${transB} ${m}×${n}×${k}, α ∈ {1, 0.5}, β ∈ {0, 1, −0.25}`, () => {
          const rng = new Rng(1000 * m + 100 * n + k + (transA ? 7 : 0) + (transB ? 13 : 0));
          const a = randomArray(rng, m * k), b = randomArray(rng, k * n);
          for (const alpha of ALPHAS) {
            for (const beta of BETAS) {
              const c0 = randomArray(rng, m * n, 2);
              const c = guarded(c0);
              backend.gemm(transA, transB, m, n, k, alpha, a, b, beta, c);
              const expected = naiveGemm(transA, transB, m, n, k, alpha, a, b, beta, c0);
              const what = `gemm(${transA}, ${transB}, ${m}, ${n}, ${k}, α=${alpha}, β=${beta})`;
              assertClose(c.subarray(0, m * n), expected, 2e-6, what);
              // Elementwise as well: every entry within float32 rounding of its own magnitude
              // plus a small multiple of the row scale.
              for (let i = 0; i < m * n; i++) {
                assert.ok(Math.abs(c[i] - expected[i]) <= 1e-6 * (Math.abs(expected[i]) + k / 8),
                  `${what}[${i}] = ${c[i]}, expected ${expected[i]}`);
              }
              checkGuard(c, m * n, what);
            }
          }
        });
      }
    }
  }

  test(`${backend.name}: gemm with β = 0 ignores NaN and Infinity already in C`, () => {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const [m, n, k] = [6, 7, 5];
        const rng = new Rng(42);
        const a = randomArray(rng, m * k), b = randomArray(rng, k * n);
        const c = new Float32Array(m * n).fill(NaN);
        c[3] = Infinity; c[4] = -Infinity;
        backend.gemm(transA, transB, m, n, k, 0.5, a, b, 0, c);
        const expected = naiveGemm(transA, transB, m, n, k, 0.5, a, b, 0, new Float32Array(m * n));
        assert.ok(c.every(Number.isFinite), `NaN/Inf from C propagated (transA=${transA}, transB=${transB})`);
        assertClose(c, expected, 2e-6, `gemm β=0 over NaN (transA=${transA}, transB=${transB})`);
      }
    }
  });

  test(`${backend.name}: gemm with k = 0 gives C ← β·C`, () => {
    for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]]) {
      const c = guarded(new Float32Array([1, -2, 3, 4, 5, -6]));
      backend.gemm(transA, transB, 2, 3, 0, 1, new Float32Array(0), new Float32Array(0), -0.25, c);
      assert.deepEqual([...c.subarray(0, 6)], [-0.25, 0.5, -0.75, -1, -1.25, 1.5]);
      checkGuard(c, 6, 'gemm k = 0');
      const z = new Float32Array(6).fill(NaN);
      backend.gemm(transA, transB, 2, 3, 0, 1, new Float32Array(0), new Float32Array(0), 0, z);
      assert.deepEqual([...z], [0, 0, 0, 0, 0, 0]);
    }
  });

  test(`${backend.name}: gemm on subarray views with offsets`, () => {
    const [m, n, k] = [5, 3, 4];
    const rng = new Rng(3);
    const aBig = randomArray(rng, 7 + m * k), bBig = randomArray(rng, 11 + k * n);
    const c0 = randomArray(rng, m * n);
    const cBig = new Float32Array(5 + m * n + GUARD).fill(SENTINEL);
    cBig.set(c0, 5);
    const a = aBig.subarray(7), b = bBig.subarray(11), c = cBig.subarray(5);
    backend.gemm(false, true, m, n, k, 1, a, b.subarray(0, n * k), 1, c);
    // transB=true reads B as n×k: reinterpret the same numbers.
    assertClose(c.subarray(0, m * n), naiveGemm(false, true, m, n, k, 1, a, b, 1, c0), 2e-6, 'gemm on views');
    for (let i = 0; i < 5; i++) assert.equal(cBig[i], SENTINEL, 'wrote before the view');
    checkGuard(c, m * n, 'gemm on views');
  });

  test(`${backend.name}: addRowVector adds bias to every row`, () => {
    const rng = new Rng(5);
    const [rows, cols] = [7, 5];
    const y0 = randomArray(rng, rows * cols), bias = randomArray(rng, cols);
    const y = guarded(y0);
    backend.addRowVector(y, bias, rows, cols);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < cols; j++) {
        assert.equal(y[r * cols + j], Math.fround(y0[r * cols + j] + bias[j]), `y[${r}, ${j}]`);
      }
    }
    checkGuard(y, rows * cols, 'addRowVector');
  });

  test(`${backend.name}: sumRowsInto accumulates column sums into out`, () => {
    const rng = new Rng(6);
    const [rows, cols] = [9, 4];
    const x = randomArray(rng, rows * cols);
    const out = guarded(new Float32Array([1, -2, 0.5, 3]));
    const colSum = (j: number) => { let s = 0; for (let r = 0; r < rows; r++) s += x[r * cols + j]; return s; };
    backend.sumRowsInto(x, rows, cols, out);
    const once = [1, -2, 0.5, 3].map((v, j) => v + colSum(j));
    assertClose(out.subarray(0, cols), once, 1e-6, 'sumRowsInto once');
    backend.sumRowsInto(x, rows, cols, out); // accumulates, does not overwrite
    assertClose(out.subarray(0, cols), once.map((v, j) => v + colSum(j)), 1e-6, 'sumRowsInto twice');
    checkGuard(out, cols, 'sumRowsInto');
  });

  test(`${backend.name}: relu and reluBackward`, () => {
    const x = new Float32Array([-2, -0.5, 0, 1e-30, 0.25, 3, -0, -1e-30]);
    const n = x.length;
    const y = guarded(new Float32Array(n).fill(7));
    backend.relu(x, y, n);
    assert.deepEqual([...y.subarray(0, n)], [0, 0, 0, 1e-30, 0.25, 3, 0, 0].map(Math.fround));
    checkGuard(y, n, 'relu');
    const dy = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const dx = guarded(new Float32Array(n).fill(NaN));
    backend.reluBackward(y, dy, dx, n);
    assert.deepEqual([...dx.subarray(0, n)], [0, 0, 0, 4, 5, 6, 0, 0]);
    checkGuard(dx, n, 'reluBackward');
  });

  test(`${backend.name}: tanh and tanhBackward`, () => {
    const rng = new Rng(8);
    const n = 101;
    const x = randomArray(rng, n, 4);
    x[0] = 0; x[1] = 20; x[2] = -20;
    const y = guarded(new Float32Array(n));
    backend.tanh(x, y, n);
    for (let i = 0; i < n; i++) {
      const ref = Math.tanh(x[i]);
      assert.ok(Math.abs(y[i] - ref) <= 1.2e-7 * Math.abs(ref) + 1e-30, `tanh(${x[i]}) = ${y[i]}, expected ${ref}`);
    }
    assert.equal(y[1], 1);
    assert.equal(y[2], -1);
    checkGuard(y, n, 'tanh');
    const dy = randomArray(rng, n, 3);
    const dx = guarded(new Float32Array(n));
    backend.tanhBackward(y, dy, dx, n);
    assertClose(dx.subarray(0, n), Array.from(y.subarray(0, n), (v, i) => dy[i] * (1 - v * v)), 1e-6, 'tanhBackward');
    checkGuard(dx, n, 'tanhBackward');
  });

  test(`${backend.name}: gelu is exact x·Φ(x) within 1e-6`, () => {
    const xs: number[] = [];
    for (let x = -10; x <= 10; x += 0.0625) xs.push(x);
    xs.push(0.7071, -0.3, 1e-4, -1e-4);
    const x = new Float32Array(xs), n = x.length;
    const y = guarded(new Float32Array(n));
    backend.gelu(x, y, n);
    for (let i = 0; i < n; i++) {
      const ref = x[i] * PhiRef(x[i]);
      assert.ok(Math.abs(y[i] - ref) <= 1e-6, `gelu(${x[i]}) = ${y[i]}, expected ${ref}`);
      // In the negative tail the value is tiny; hold it to a relative bound too.
      if (x[i] < -0.5) assert.ok(Math.abs(y[i] - ref) <= 1e-6 * Math.abs(ref), `gelu(${x[i]}) = ${y[i]}, expected ${ref} (relative)`);
    }
    // The tanh approximation is off by up to ~5e-4 near x = ±2.5 (not within 1e-6 of exact GELU).
    const x2 = new Float32Array([-2.5]), y2 = new Float32Array(1);
    backend.gelu(x2, y2, 1);
    const approx = 0.5 * -2.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (-2.5 + 0.044715 * (-2.5) ** 3)));
    assert.ok(Math.abs(approx - -2.5 * PhiRef(-2.5)) > 1e-5, 'test premise: tanh approximation is distinguishable');
    assert.ok(Math.abs(y2[0] - -2.5 * PhiRef(-2.5)) < 1e-6);
    checkGuard(y, n, 'gelu');
  });

  test(`${backend.name}: geluBackward is dy·(Φ(x) + x·φ(x))`, () => {
    const rng = new Rng(9);
    const xs: number[] = [];
    for (let x = -8; x <= 8; x += 0.125) xs.push(x);
    const x = new Float32Array(xs), n = x.length;
    const dy = randomArray(rng, n, 2);
    const dx = guarded(new Float32Array(n));
    backend.geluBackward(x, dy, dx, n);
    for (let i = 0; i < n; i++) {
      const ref = dy[i] * (PhiRef(x[i]) + x[i] * phiRef(x[i]));
      assert.ok(Math.abs(dx[i] - ref) <= 1e-6 * Math.max(1, Math.abs(ref)), `geluBackward at ${x[i]}: ${dx[i]}, expected ${ref}`);
    }
    // Known values: d/dx GELU(0) = 1/2; at x = 1: Φ(1) + φ(1) = 0.8413447460685429 + 0.24197072451914337.
    const one = new Float32Array([0, 1]), out = new Float32Array(2);
    backend.geluBackward(one, new Float32Array([1, 1]), out, 2);
    assert.ok(Math.abs(out[0] - 0.5) < 1e-7);
    assert.ok(Math.abs(out[1] - (0.8413447460685429 + 0.24197072451914337)) < 1e-6);
    checkGuard(dx, n, 'geluBackward');
  });

  test(`${backend.name}: mul is the elementwise product`, () => {
    const rng = new Rng(10);
    const n = 37;
    const a = randomArray(rng, n, 3), b = randomArray(rng, n, 3);
    const out = guarded(new Float32Array(n));
    backend.mul(a, b, out, n);
    for (let i = 0; i < n; i++) assert.equal(out[i], Math.fround(a[i] * b[i]), `mul[${i}]`);
    checkGuard(out, n, 'mul');
    // In place (out aliasing a) is how callers may use it.
    const c = a.slice();
    backend.mul(c, b, c, n);
    for (let i = 0; i < n; i++) assert.equal(c[i], Math.fround(a[i] * b[i]));
  });

  test(`${backend.name}: softmaxCrossEntropy vs float64 log-sum-exp`, () => {
    const rng = new Rng(11);
    const [rows, cols] = [13, 7];
    const logits = randomArray(rng, rows * cols, 6);
    const labels = new Int32Array(rows).map(() => rng.int(cols));
    const scale = 1 / rows;
    const dlogits = guarded(new Float32Array(rows * cols).fill(NaN));
    const total = backend.softmaxCrossEntropy(logits, labels, rows, cols, dlogits, scale);
    let expectedTotal = 0;
    const expectedGrad = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(logits.subarray(r * cols, (r + 1) * cols));
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      expectedTotal += lse - row[labels[r]];
      for (let j = 0; j < cols; j++) expectedGrad[r * cols + j] = scale * (Math.exp(row[j] - lse) - (j === labels[r] ? 1 : 0));
    }
    assert.ok(Math.abs(total - expectedTotal) <= 1e-6 * expectedTotal, `total ${total}, expected ${expectedTotal}`);
    assertClose(dlogits.subarray(0, rows * cols), expectedGrad, 1e-6, 'dlogits');
    checkGuard(dlogits, rows * cols, 'softmaxCrossEntropy');
    // Each row of softmax − onehot sums to 0.
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let j = 0; j < cols; j++) s += dlogits[r * cols + j];
      assert.ok(Math.abs(s) < 1e-7, `row ${r} of dlogits sums to ${s}`);
    }
  });

  test(`${backend.name}: softmaxCrossEntropy stays finite with logits of ±1e4`, () => {
    const cols = 4;
    const rows: [number[], number, number][] = [
      // logits, label, expected CE = LSE − logit[label] in float64
      [[1e4, -1e4, 0, 1e4 - 5], 0, Math.log1p(Math.exp(-5))],
      [[1e4, -1e4, 0, 1e4 - 5], 1, 2e4 + Math.log1p(Math.exp(-5))],
      [[1e4, -1e4, 0, 1e4 - 5], 3, 5 + Math.log1p(Math.exp(-5))],
      [[-1e4, -1e4, -1e4, -1e4], 2, Math.log(4)],
      [[1e4, 1e4, 1e4, 1e4], 1, Math.log(4)],
    ];
    for (const [row, label, expected] of rows) {
      const logits = new Float32Array(row), dl = new Float32Array(cols);
      const ce = backend.softmaxCrossEntropy(logits, new Int32Array([label]), 1, cols, dl, 1);
      assert.ok(Number.isFinite(ce), `CE of ${row} is ${ce}`);
      assert.ok(Math.abs(ce - expected) <= 1e-6 * Math.max(1, expected), `CE of [${row}] label ${label} = ${ce}, expected ${expected}`);
      assert.ok(dl.every(Number.isFinite), `dlogits of [${row}] not finite: ${dl}`);
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      assertClose(dl, row.map((v, j) => Math.exp(v - lse) - (j === label ? 1 : 0)), 1e-6, `dlogits of [${row}]`);
    }
  });

  test(`${backend.name}: sumSquares accumulates in float64`, () => {
    const rng = new Rng(12);
    const x = randomArray(rng, 1001, 5);
    let ref = 0;
    for (const v of x) ref += v * v;
    assert.ok(Math.abs(backend.sumSquares(x, x.length) - ref) <= 1e-12 * ref);
    assert.ok(Math.abs(backend.sumSquares(x, 10) - x.subarray(0, 10).reduce((s, v) => s + v * v, 0)) < 1e-12 * ref, 'reads only n elements');
    // 4096² = 2^24: in float32, adding 1 to it is lost; in float64 the 1000 ones all count.
    const big = new Float32Array(1001).fill(1);
    big[0] = 4096;
    assert.equal(backend.sumSquares(big, big.length), 16777216 + 1000);
  });
}
