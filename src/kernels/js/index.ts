/**
 * The reference backend: plain TypeScript, written to be read. It is the oracle every fast
 * backend is tested against, and the fallback where nothing else loads. Accumulations run in
 * float64 (JS numbers) and round once on store, so it is at least as accurate as any float32
 * BLAS. It is never optimized past readability (llm.c keeps its naive matmul the same way).
 */
import type { Backend } from '../backend.js';
import { jsSpatialKernels } from './spatial.js';
import { optimizerStep } from './optimizer-step.js';

export function createJsBackend(): Backend {
  return {
    name: 'js',

    gemm(transA, transB, m, n, k, alpha, a, b, beta, c) {
      // op(A)[i, p] = a[i·aRow + p·aStep] and op(B)[p, j] = b[p·bStep + j·bCol], whatever the
      // storage, so one loop serves all four transpose combinations.
      const aRow = transA ? 1 : k, aStep = transA ? m : 1;
      const bStep = transB ? 1 : n, bCol = transB ? k : 1;
      const store = (r: number, j: number, v: number) => {
        if (r < m && j < n) c[r * n + j] = beta === 0 ? alpha * v : alpha * v + beta * c[r * n + j];
      };
      // A 4×4 block of C lives in sixteen local (float64) accumulators: each pass over p loads
      // four elements of op(A) and four of op(B) for sixteen multiply-adds. Rows and columns
      // past the edge are clamped to the last one (computed, never stored).
      for (let i = 0; i < m; i += 4) {
        const i1 = Math.min(i + 1, m - 1), i2 = Math.min(i + 2, m - 1), i3 = Math.min(i + 3, m - 1);
        for (let j = 0; j < n; j += 4) {
          const j1 = Math.min(j + 1, n - 1), j2 = Math.min(j + 2, n - 1), j3 = Math.min(j + 3, n - 1);
          let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
          let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
          let a0 = i * aRow, a1 = i1 * aRow, a2 = i2 * aRow, a3 = i3 * aRow;
          let b0 = j * bCol, b1 = j1 * bCol, b2 = j2 * bCol, b3 = j3 * bCol;
          for (let p = 0; p < k; p++) {
            const x0 = a[a0], x1 = a[a1], x2 = a[a2], x3 = a[a3];
            const y0 = b[b0], y1 = b[b1], y2 = b[b2], y3 = b[b3];
            c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
            c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
            c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
            c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
            a0 += aStep; a1 += aStep; a2 += aStep; a3 += aStep;
            b0 += bStep; b1 += bStep; b2 += bStep; b3 += bStep;
          }
          store(i, j, c00); store(i, j + 1, c01); store(i, j + 2, c02); store(i, j + 3, c03);
          store(i + 1, j, c10); store(i + 1, j + 1, c11); store(i + 1, j + 2, c12); store(i + 1, j + 3, c13);
          store(i + 2, j, c20); store(i + 2, j + 1, c21); store(i + 2, j + 2, c22); store(i + 2, j + 3, c23);
          store(i + 3, j, c30); store(i + 3, j + 1, c31); store(i + 3, j + 2, c32); store(i + 3, j + 3, c33);
        }
      }
    },

    addRowVector(y, bias, rows, cols) {
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        for (let j = 0; j < cols; j++) y[o + j] += bias[j];
      }
    },

    sumRowsInto(x, rows, cols, out) {
      for (let j = 0; j < cols; j++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += x[r * cols + j];
        out[j] += s;
      }
    },

    relu(x, y, n) {
      for (let i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
    },
    reluBackward(y, dy, dx, n) {
      for (let i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
    },
    tanh(x, y, n) {
      for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]);
    },
    tanhBackward(y, dy, dx, n) {
      for (let i = 0; i < n; i++) dx[i] = dy[i] * (1 - y[i] * y[i]);
    },
    gelu(x, y, n) {
      for (let i = 0; i < n; i++) y[i] = x[i] * normalCdf(x[i]);
    },
    geluBackward(x, dy, dx, n) {
      for (let i = 0; i < n; i++) {
        const v = x[i];
        dx[i] = dy[i] * (normalCdf(v) + v * Math.exp(-0.5 * v * v) * INV_SQRT_2PI);
      }
    },
    mul(a, b, out, n) {
      for (let i = 0; i < n; i++) out[i] = a[i] * b[i];
    },

    softmaxCrossEntropy(logits, labels, rows, cols, dlogits, scale) {
      let total = 0;
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        let max = -Infinity;
        for (let j = 0; j < cols; j++) if (logits[o + j] > max) max = logits[o + j];
        let sum = 0;
        for (let j = 0; j < cols; j++) sum += Math.exp(logits[o + j] - max);
        const logSum = Math.log(sum);
        const y = labels[r];
        total += logSum - (logits[o + y] - max);
        for (let j = 0; j < cols; j++) {
          const p = Math.exp(logits[o + j] - max - logSum);
          dlogits[o + j] = scale * (j === y ? p - 1 : p);
        }
      }
      return total;
    },

    sumSquares(x, n) {
      let s = 0;
      for (let i = 0; i < n; i++) s += x[i] * x[i];
      return s;
    },

    ...jsSpatialKernels,
    optimizerStep,
  };
}

/** The one reference backend most callers need. */
export const jsBackend: Backend = createJsBackend();

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Φ(x) = (1 + erf(x/√2))/2. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/**
 * Complementary error function with fractional error below 1.2e-7 everywhere (a Chebyshev
 * fit, Numerical Recipes §6.2): enough for float32 outputs, and smooth, so finite-difference
 * checks of GELU still see the derivative Φ'(x) = φ(x).
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}
