/**
 * The reference backend: plain TypeScript, written to be read. It is the oracle every fast
 * backend is tested against, and the fallback where nothing else loads. Accumulations run in
 * float64 (JS numbers) and round once on store, so it is at least as accurate as any float32
 * BLAS. It is never optimized past readability (llm.c keeps its naive matmul the same way),
 * with one exception: the GEMM, ≈ 90% of an MLP step, reads its operands through packed panels
 * (gemm.ts), which changes the speed and not one bit of the result.
 */
import type { Backend } from '../backend.js';
import { jsSpatialKernels } from './spatial.js';
import { optimizerStep } from './optimizer-step.js';
import { createJsGemm } from './gemm.js';

export function createJsBackend(): Backend {
  return {
    name: 'js',

    gemm: createJsGemm(),

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
