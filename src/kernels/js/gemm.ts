/**
 * The reference GEMM, C ← α·op(A)·op(B) + β·C.
 *
 * Every element is the definition's: s = Σ_p op(A)[i, p]·op(B)[p, j] accumulated in float64 in
 * increasing p, then α·s (+ β·C) rounded once to float32. A product of two float32s is exact in
 * float64, so this is bit for bit what the naive triple loop gives (the kernel test asserts it),
 * and every fast backend is judged against those bits.
 *
 * The speed is only in how operands are read, never in the arithmetic. Each 3×4 block of C
 * lives in twelve float64 locals. A pass over p loads three elements of op(A) and four of op(B)
 * for twelve multiply-adds. Of the blocks timed in V8 (2×4, 4×4, 4×2, 3×3, 3×4, 4×3, 2×6,
 * 5×2, 2×8, 1×8, and the k loop unrolled by two), 3×4 and 4×3 were fastest; 4×4, with 24
 * live values against x86-64's sixteen float registers, was 5–10% slower, and unrolling k
 * was slower still. The operands are first copied ("packed") into float64 panels,
 * so the inner loop reads two arrays in order with no float32 → float64 conversion. Each
 * element of op(A) would otherwise be converted n/4 times, and each of op(B) m/3 times. This
 * runs the MLP's GEMMs at ≈ 5 GFLOP/s where the unpacked 4×4 loop ran at ≈ 3.6.
 */
import type { Backend } from '../backend.js';

/** Rows of C per block: the twelve accumulators are MR × NR. */
const MR = 3;
const NR = 4;
/**
 * Rows of op(A) packed at a time. It bounds the scratch at BLOCK_ROWS·k float64s, whatever m
 * is; op(B)'s panels are packed again for each block of rows (k·n copies per 192 rows of C).
 */
const BLOCK_ROWS = 64 * MR;

/** A GEMM with its own packing scratch. It grows to the largest call and is then reused. */
export function createJsGemm(): Backend['gemm'] {
  let packedA = new Float64Array(0);
  let packedB = new Float64Array(0);

  return function gemm(transA, transB, m, n, k, alpha, a, b, beta, c) {
    // op(A)[i, p] = a[i·aRow + p·aStep] and op(B)[p, j] = b[p·bStep + j·bCol], whatever the
    // storage, so one packing loop serves all four transpose combinations.
    const aRow = transA ? 1 : k, aStep = transA ? m : 1;
    const bStep = transB ? 1 : n, bCol = transB ? k : 1;
    const paddedRows = Math.min(BLOCK_ROWS, Math.ceil(m / MR) * MR);
    if (packedA.length < paddedRows * k) packedA = new Float64Array(paddedRows * k);
    if (packedB.length < NR * k) packedB = new Float64Array(NR * k);
    const pa = packedA, pb = packedB;
    const store = (r: number, j: number, v: number) => {
      if (r < m && j < n) c[r * n + j] = beta === 0 ? alpha * v : alpha * v + beta * c[r * n + j];
    };

    for (let i0 = 0; i0 < m; i0 += BLOCK_ROWS) {
      const rows = Math.min(BLOCK_ROWS, m - i0), panelRows = Math.ceil(rows / MR) * MR;
      // Row r of the block goes to panel ⌊r/3⌋, lane r mod 3: pa[(r − r mod 3)·k + 3p + r mod 3].
      // Rows past m repeat the last row (computed, never stored), so every panel is full.
      for (let r = 0; r < panelRows; r++) {
        let src = Math.min(i0 + r, m - 1) * aRow, dst = (r - r % MR) * k + r % MR;
        for (let p = 0; p < k; p++, src += aStep, dst += MR) pa[dst] = a[src];
      }
      for (let j = 0; j < n; j += NR) {
        // Columns j..j+3 of op(B), interleaved: pb[4p + t] = op(B)[p, j + t] (the last column
        // repeated past n).
        for (let t = 0; t < NR; t++) {
          let src = Math.min(j + t, n - 1) * bCol, dst = t;
          for (let p = 0; p < k; p++, src += bStep, dst += NR) pb[dst] = b[src];
        }
        for (let r = 0; r < rows; r += MR) {
          let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
          let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
          let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
          for (let x = r * k, y = 0, end = x + MR * k; x < end; x += MR, y += NR) {
            const x0 = pa[x], x1 = pa[x + 1], x2 = pa[x + 2];
            const y0 = pb[y], y1 = pb[y + 1], y2 = pb[y + 2], y3 = pb[y + 3];
            c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
            c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
            c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
          }
          const i = i0 + r;
          store(i, j, c00); store(i, j + 1, c01); store(i, j + 2, c02); store(i, j + 3, c03);
          store(i + 1, j, c10); store(i + 1, j + 1, c11); store(i + 1, j + 2, c12); store(i + 1, j + 3, c13);
          store(i + 2, j, c20); store(i + 2, j + 1, c21); store(i + 2, j + 2, c22); store(i + 2, j + 3, c23);
        }
      }
    }
  };
}
