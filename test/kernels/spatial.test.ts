/**
 * The convolution, pooling and per-channel kernels (Backend.im2col … channelCombine).
 *
 * 1. Hand-computed cases (arithmetic in the comments) pin down the reference semantics of
 *    src/kernels/js/spatial.ts: layouts, zero padding, strides, tie-breaking, accumulation,
 *    overwrite vs accumulate. They run on every backend, the reference first.
 * 2. Adjoint identities on random integer data: ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ and the same for
 *    the pools. Small integers (and a 2×2 window, so dy/4 is exact) make every float32 and
 *    float64 sum exact, so both sides are compared with ===.
 * 3. Every backend against the reference on seeded random data over many geometries (odd and
 *    non-square planes, batch 1, padding 0/1/2, stride 1/2/3, kernel 1/3/5, pools 2×2 s2,
 *    3×3 s2, 3×3 s1, global, non-square windows, rows longer than the native kernels' blocks).
 *    Outputs are views at an offset inside buffers filled with sentinels, so a write outside
 *    the elements a kernel was told about fails. Tolerances:
 *    - data movement (im2col, swapAxes01, maxPool values and argmax, maxPoolBackward when the
 *      windows do not overlap): bit-identical (Object.is, so NaN and −0 count).
 *    - sums and arithmetic (col2im, avgPool, the backwards with overlapping windows, the
 *      per-channel kernels): 1e-6 norm-wise relative (test/helpers/close.ts). Every sum is a
 *      handful of float32 roundings or a float64 sum rounded once, so a correct kernel is
 *      within a few float32 ulps (~1e-7); indexing mistakes are O(1). The largest difference
 *      seen per backend is printed at the end (the native kernels keep the reference's order
 *      of operations except the per-channel float64 sums over runs of s > 1, so mostly 0).
 * 4. Native argument checking: wrong types throw TypeError; short arrays, bad sizes and
 *    inconsistent geometry throw RangeError; the process survives.
 *
 * Every backend must load (CI builds them all): one that does not fails its test, never skips.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { NO_MASK, type Backend, type ConvGeometry, type PoolGeometry } from '../../src/kernels/backend.js';
import { jsBackend } from '../../src/kernels/js/index.js';
import { loadBackends } from '../../src/kernels/select-node.js';
import { Rng } from '../../src/tensor/rng.js';
import { assertClose } from '../helpers/close.js';

const results = await loadBackends();
for (const r of results) {
  if ('error' in r) test(`spatial: the ${r.name} backend loads`, () => assert.fail(`${r.name}: ${r.error}`));
}
const backends: Backend[] = results.flatMap((r) => ('backend' in r ? [r.backend] : []));
// The reference first, so its hand-computed cases fail before any comparison with it does.
backends.sort((a, b) => (a.name === 'js' ? -1 : b.name === 'js' ? 1 : 0));

// ---------------------------------------------------------------------------------------------
// Helpers

function conv(channels: number, height: number, width: number, kernel: number, stride: number, padding: number): ConvGeometry {
  return {
    channels, height, width, kernel, stride, padding,
    outHeight: Math.floor((height + 2 * padding - kernel) / stride) + 1,
    outWidth: Math.floor((width + 2 * padding - kernel) / stride) + 1,
  };
}

function pool(height: number, width: number, kernelHeight: number, kernelWidth: number, stride: number): PoolGeometry {
  return {
    height, width, kernelHeight, kernelWidth, stride,
    outHeight: Math.floor((height - kernelHeight) / stride) + 1,
    outWidth: Math.floor((width - kernelWidth) / stride) + 1,
  };
}

const f32 = (values: number[]) => Float32Array.from(values);

function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = scale * (2 * rng.uniform() - 1);
  return a;
}
/** Integers in [−8, 8]: every sum and product the adjoint tests form is exact. */
function randomInts(rng: Rng, n: number): Float32Array {
  return new Float32Array(n).map(() => rng.int(17) - 8);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Bit-identical (Object.is: NaN equals NaN, −0 differs from 0), first mismatch in the message. */
function assertSame(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) assert.fail(`${what}[${i}] = ${actual[i]}, expected ${expected[i]}`);
  }
}

/**
 * An output buffer for one backend: `n` elements starting as `init` (default NaN), seen through
 * a view at element OFFSET of a larger buffer whose other elements are sentinels.
 */
const OFFSET = 3, GUARD = 4, SENTINEL = -12345.5;
function guarded<T extends Float32Array | Int32Array>(make: (n: number) => T, n: number, init?: ArrayLike<number>, fill = NaN): T {
  const big = make(OFFSET + n + GUARD).fill(SENTINEL) as T;
  const v = big.subarray(OFFSET, OFFSET + n) as T;
  if (init) v.set(init);
  else v.fill(fill);
  return v;
}
const out32 = (n: number, init?: ArrayLike<number>) => guarded((k) => new Float32Array(k), n, init);
const outI32 = (n: number) => guarded((k) => new Int32Array(k), n, undefined, -7);
/** Asserts the sentinels around an output view are intact. */
function checkGuards(v: Float32Array | Int32Array, what: string): void {
  const big = v instanceof Float32Array ? new Float32Array(v.buffer) : new Int32Array(v.buffer);
  const start = v.byteOffset / v.BYTES_PER_ELEMENT, sentinel = v instanceof Float32Array ? SENTINEL : Math.trunc(SENTINEL);
  for (let i = 0; i < big.length; i++) {
    if (i >= start && i < start + v.length) continue;
    if (big[i] !== sentinel) assert.fail(`${what}: wrote outside its ${v.length} elements (index ${i - start})`);
  }
}
/** An input as a view at an offset (inputs never start at byte 0 of their buffer either). */
function input(values: Float32Array): Float32Array {
  const big = new Float32Array(values.length + 2 * OFFSET).fill(SENTINEL);
  big.set(values, OFFSET);
  return big.subarray(OFFSET, OFFSET + values.length);
}

/** Largest norm-wise difference seen per backend and kernel, printed at the end. */
const worst = new Map<string, number>();
function close(b: Backend, kernel: string, actual: Float32Array, expected: Float32Array, what: string): void {
  const d = assertClose(actual, expected, 1e-6, `${b.name} ${what}`);
  const key = `${b.name} | ${kernel}`;
  worst.set(key, Math.max(worst.get(key) ?? 0, d.maxRel));
}
after(() => {
  if (worst.size === 0) return;
  console.log(['', 'spatial kernels vs the js reference: max norm-wise relative difference (tolerance 1e-6)',
    '| backend | kernel | max rel. difference |',
    ...[...worst].map(([k, v]) => `| ${k} | ${v === 0 ? '0' : v.toExponential(2)} |`)].join('\n'));
});

// ---------------------------------------------------------------------------------------------
// 1. Hand-computed cases, on every backend

for (const b of backends) {
  test(`spatial [${b.name}]: im2col of a 3×3 image, 3×3 kernel, padding 1, stride 2`, () => {
    // x = 1 2 3     zero-padded (5×5): 0 0 0 0 0
    //     4 5 6                        0 1 2 3 0
    //     7 8 9                        0 4 5 6 0
    //                                  0 7 8 9 0
    //                                  0 0 0 0 0
    // outHeight = outWidth = floor((3 + 2 − 3)/2) + 1 = 2; the windows' top-left corners in the
    // padded image are (0,0), (0,2), (2,0), (2,2), so row (i, j) of cols is
    // [P[i][j], P[i][j+2], P[i+2][j], P[i+2][j+2]].
    const g = conv(1, 3, 3, 3, 2, 1);
    assert.deepEqual([g.outHeight, g.outWidth], [2, 2]);
    const cols = out32(9 * 4);
    b.im2col(input(f32([1, 2, 3, 4, 5, 6, 7, 8, 9])), 1, g, cols);
    assertSame(cols, [
      0, 0, 0, 5, // (0,0): P00 P02 P20 P22
      0, 0, 4, 6, // (0,1): P01 P03 P21 P23
      0, 0, 5, 0, // (0,2): P02 P04 P22 P24
      0, 2, 0, 8, // (1,0): P10 P12 P30 P32
      1, 3, 7, 9, // (1,1): P11 P13 P31 P33
      2, 0, 8, 0, // (1,2): P12 P14 P32 P34
      0, 5, 0, 0, // (2,0): P20 P22 P40 P42
      4, 6, 0, 0, // (2,1): P21 P23 P41 P43
      5, 0, 0, 0, // (2,2): P22 P24 P42 P44
    ], 'im2col');
    checkGuards(cols, 'im2col');
  });

  test(`spatial [${b.name}]: im2col layout: rows are (channel, tap), columns are (image, position)`, () => {
    // batch 2, C = 2, 1×2 planes, 1×1 kernel: x[b][c] = b0c0 [1 2], b0c1 [3 4], b1c0 [5 6], b1c1 [7 8].
    // cols[c][(b, ow)]: row 0 = channel 0 of image 0 then image 1 = [1 2 5 6], row 1 = [3 4 7 8].
    const cols = out32(8);
    b.im2col(input(f32([1, 2, 3, 4, 5, 6, 7, 8])), 2, conv(2, 1, 2, 1, 1, 0), cols);
    assertSame(cols, [1, 2, 5, 6, 3, 4, 7, 8], 'im2col layout');
    checkGuards(cols, 'im2col layout');
  });

  test(`spatial [${b.name}]: col2im overwrites dx with each pixel's sum over the taps that read it`, () => {
    // The geometry of the first case with cols = 1 everywhere: a pixel's value is the number of
    // windows covering it. Padded rows 1, 2, 3 (image rows 0, 1, 2) lie in windows {0}, {0, 1},
    // {1}, so counts per axis are [1, 2, 1] and dx = outer([1, 2, 1], [1, 2, 1]).
    const g = conv(1, 3, 3, 3, 2, 1);
    const dx = out32(9, f32([9, 9, 9, 9, 9, 9, 9, 9, 9])); // old contents are ignored
    b.col2im(input(new Float32Array(36).fill(1)), 1, g, dx);
    assertSame(dx, [1, 2, 1, 2, 4, 2, 1, 2, 1], 'col2im of ones');
    checkGuards(dx, 'col2im');
    // With the first case's cols, pixel 5 (centre) is read by taps (0,0), (0,2), (2,0), (2,2)
    // (values 5 each, padded P22 above) and pixel 1 by (1,1) only: col2im(im2col(x)) = count·x.
    const cols = new Float32Array(36);
    b.im2col(f32([1, 2, 3, 4, 5, 6, 7, 8, 9]), 1, g, cols);
    b.col2im(cols, 1, g, dx);
    assertSame(dx, [1, 4, 3, 8, 20, 12, 7, 16, 9], 'col2im(im2col(x))');
  });

  test(`spatial [${b.name}]: swapAxes01 of a [2, 3, 2] tensor`, () => {
    // x[i][j] = [(3i + j)·2, (3i + j)·2 + 1]; out[j][i] = x[i][j]:
    // j = 0: x[0][0] = [0 1], x[1][0] = [6 7]; j = 1: [2 3], [8 9]; j = 2: [4 5], [10 11].
    const out = out32(12);
    b.swapAxes01(input(f32([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])), 2, 3, 2, out);
    assertSame(out, [0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11], 'swapAxes01');
    checkGuards(out, 'swapAxes01');
    // inner = 1 is a transpose: [[1 2 3], [4 5 6]] → [[1 4], [2 5], [3 6]].
    const t = out32(6);
    b.swapAxes01(f32([1, 2, 3, 4, 5, 6]), 2, 3, 1, t);
    assertSame(t, [1, 4, 2, 5, 3, 6], 'swapAxes01 transpose');
  });

  test(`spatial [${b.name}]: maxPool 3×3 stride 2 (overlapping windows, a tie) and its backward`, () => {
    // index:  0  1  2  3  4       x:  1 2 3 2 1
    //         5  6  7  8  9           0 9 0 0 0
    //        10 11 12 13 14           4 0 9 0 7
    //        15 16 17 18 19           0 0 0 0 0
    //        20 21 22 23 24           5 0 0 8 8
    // outHeight = outWidth = floor((5 − 3)/2) + 1 = 2; windows at rows/cols {0-2, 2-4}.
    // (0,0): 9 at 6 and at 12: the first in row-major order (6) wins.
    // (0,1), (1,0), (1,1): 9 at 12 (the shared corner pixel; 8 8 at 23, 24 lose).
    const g = pool(5, 5, 3, 3, 2);
    const x = f32([1, 2, 3, 2, 1, 0, 9, 0, 0, 0, 4, 0, 9, 0, 7, 0, 0, 0, 0, 0, 5, 0, 0, 8, 8]);
    const y = out32(4), argmax = outI32(4);
    b.maxPool(input(x), 1, g, y, argmax);
    assertSame(y, [9, 9, 9, 9], 'maxPool y');
    assertSame(argmax, [6, 12, 12, 12], 'maxPool argmax');
    checkGuards(y, 'maxPool y');
    checkGuards(argmax, 'maxPool argmax');
    // Backward: dx = 0 except dx[6] = dy0 = 1 and dx[12] = 10 + 100 + 1000 (three windows).
    const dx = out32(25);
    b.maxPoolBackward(input(f32([1, 10, 100, 1000])), argmax, 1, g, dx);
    const want = new Float32Array(25);
    want[6] = 1;
    want[12] = 1110;
    assertSame(dx, want, 'maxPoolBackward');
    checkGuards(dx, 'maxPoolBackward');
  });

  test(`spatial [${b.name}]: maxPool 2×2 stride 2 ties, −0, NaN, and argmax within each plane`, () => {
    // Two 2×4 planes. Plane 0: windows [−0 0; 0 0] → −0 at 0 (first of four equal values),
    // [3 3; 1 3] → 3 at 2. Plane 1 (argmax counts from the plane's start): [NaN 1; 2 3] → NaN
    // at 0 (a first pixel is always taken; nothing is > NaN), [1 NaN; 2 0] → NaN at 3 (a NaN
    // always wins, PyTorch's rule, so it is never hidden).
    const g = pool(2, 4, 2, 2, 2);
    const x = f32([-0, 0, 3, 3, 0, 0, 1, 3, NaN, 1, 1, NaN, 2, 3, 2, 0]);
    const y = out32(4), argmax = outI32(4);
    b.maxPool(input(x), 2, g, y, argmax);
    assertSame(y, [-0, 3, NaN, NaN], 'maxPool y');
    assertSame(argmax, [0, 2, 0, 3], 'maxPool argmax');
    // Backward: plane p gets dy at argmax; both planes overwritten (old NaN contents gone).
    const dx = out32(16);
    b.maxPoolBackward(f32([1, 2, 3, 4]), argmax, 2, g, dx);
    assertSame(dx, [1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 0, 4, 0, 0, 0, 0], 'maxPoolBackward');
    // A 3×3 stride-1 pool on a 3×4 plane of equal values: every window picks its top-left pixel.
    const y2 = out32(2), a2 = outI32(2);
    b.maxPool(new Float32Array(12).fill(5), 1, pool(3, 4, 3, 3, 1), y2, a2);
    assertSame(a2, [0, 1], 'ties pick the first pixel');
  });

  test(`spatial [${b.name}]: maxPool 2×2 stride 2 on wide rows (the vector paths): ties, −0 and NaN in every lane, as js`, () => {
    // Windows [a b; c d] cycling through tie, −0 and NaN patterns, 23 per row (4-wide vectors
    // and a tail), two rows of windows, two planes: each pattern lands in every lane position.
    const patterns = [[-0, 0, 0, 0], [3, 3, 1, 3], [NaN, 1, 2, 3], [1, NaN, 2, 0], [1, 2, 3, 4], [4, 3, 2, 1],
      [0, 0, NaN, NaN], [2, 2, 2, 2], [-1, -3, -2, -1], [0, -0, -0, 0], [1, 1, 1, NaN]];
    const OW = 23, OH = 2, W = 2 * OW, H = 2 * OH, planes = 2;
    const x = new Float32Array(planes * H * W);
    let k = 0;
    for (let p = 0; p < planes; p++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      const [a, bb, c, d] = patterns[k++ % patterns.length];
      const top = p * H * W + 2 * oh * W + 2 * ow;
      x[top] = a; x[top + 1] = bb; x[top + W] = c; x[top + W + 1] = d;
    }
    const g = pool(H, W, 2, 2, 2);
    const y = out32(planes * OH * OW), argmax = outI32(planes * OH * OW);
    const yRef = new Float32Array(planes * OH * OW), aRef = new Int32Array(planes * OH * OW);
    jsBackend.maxPool(x, planes, g, yRef, aRef);
    b.maxPool(input(x), planes, g, y, argmax);
    assertSame(y, [...yRef], 'maxPool y');
    assertSame(argmax, [...aRef], 'maxPool argmax');
  });

  test(`spatial [${b.name}]: avgPool 2×2 stride 2 and 2×2 stride 1 backward`, () => {
    // [1 2 3 4; 5 6 7 8] → [(1+2+5+6)/4, (3+4+7+8)/4] = [3.5, 5.5].
    const y = out32(2);
    b.avgPool(input(f32([1, 2, 3, 4, 5, 6, 7, 8])), 1, pool(2, 4, 2, 2, 2), y);
    assertSame(y, [3.5, 5.5], 'avgPool');
    checkGuards(y, 'avgPool');
    // Global pool over a 2×3 plane: (1+2+3+4+5+6)/6 = 3.5.
    const gy = out32(1);
    b.avgPool(f32([1, 2, 3, 4, 5, 6]), 1, pool(2, 3, 2, 3, 1), gy);
    assertSame(gy, [3.5], 'global avgPool');
    // 2×2 stride 1 on 3×3: 4 overlapping windows, dy = [4 8 12 16] → dy/4 = [1 2 3 4] spread:
    //   [1, 1+2, 2;  1+3, 1+2+3+4, 2+4;  3, 3+4, 4] = [1 3 2; 4 10 6; 3 7 4].
    const dx = out32(9);
    b.avgPoolBackward(input(f32([4, 8, 12, 16])), 1, pool(3, 3, 2, 2, 1), dx);
    assertSame(dx, [1, 3, 2, 4, 10, 6, 3, 7, 4], 'avgPoolBackward');
    checkGuards(dx, 'avgPoolBackward');
  });

  // x[n = 2, c = 2, s = 2] = [[1 2 | 3 4], [5 6 | 7 8]]: channel 0 holds 1 2 5 6, channel 1 3 4 7 8.
  const X = [1, 2, 3, 4, 5, 6, 7, 8];

  test(`spatial [${b.name}]: channelMoments (float64, two-pass, biased variance)`, () => {
    // Channel 0: mean (1+2+5+6)/4 = 3.5, variance (6.25 + 2.25 + 2.25 + 6.25)/4 = 4.25.
    // Channel 1: mean (3+4+7+8)/4 = 5.5, variance 4.25 likewise.
    const mean = out32(2), variance = out32(2);
    b.channelMoments(input(f32(X)), 2, 2, 2, mean, variance);
    assertSame(mean, [3.5, 5.5], 'mean');
    assertSame(variance, [4.25, 4.25], 'variance');
    checkGuards(mean, 'mean');
    checkGuards(variance, 'variance');
    // A constant channel far from 0 has variance exactly 0 (two-pass; E[x²] − μ² would not be).
    b.channelMoments(new Float32Array(6).fill(1e4 + 0.5), 3, 1, 2, mean, variance);
    assertSame(variance.subarray(0, 1), [0], 'variance of a constant');
    // Against a direct computation, E[x²] − E[x]² in float64 on random data (x[5, 3, 7]).
    const rng = new Rng(11);
    const x = randomArray(rng, 5 * 3 * 7, 3);
    const m3 = new Float32Array(3), v3 = new Float32Array(3);
    b.channelMoments(x, 5, 3, 7, m3, v3);
    for (let ch = 0; ch < 3; ch++) {
      const values: number[] = [];
      for (let r = 0; r < 5; r++) values.push(...x.subarray((r * 3 + ch) * 7, (r * 3 + ch + 1) * 7));
      const mu = values.reduce((s, v) => s + v, 0) / values.length;
      const variance = values.reduce((s, v) => s + v * v, 0) / values.length - mu * mu;
      assert.ok(Math.abs(m3[ch] - mu) <= 1e-6 * Math.max(1, Math.abs(mu)), `mean[${ch}] ${m3[ch]} vs ${mu}`);
      assert.ok(Math.abs(v3[ch] - variance) <= 1e-6 * variance, `variance[${ch}] ${v3[ch]} vs ${variance}`);
    }
  });

  test(`spatial [${b.name}]: channelAffine, in place`, () => {
    // scale [2, −1], shift [0.5, 10]: channel 0 → 2x + 0.5 (1 2 5 6 → 2.5 4.5 10.5 12.5),
    // channel 1 → 10 − x (3 4 7 8 → 7 6 3 2).
    const y = out32(8, X);
    b.channelAffine(y, 2, 2, 2, f32([2, -1]), f32([0.5, 10]), y, false);
    assertSame(y, [2.5, 4.5, 7, 6, 10.5, 12.5, 3, 2], 'channelAffine in place');
    checkGuards(y, 'channelAffine');
    // Out of place, s = 1 (x is [n, c]): [[1 2], [3 4]] · [10, 100] + [1, 0] = [[11 200], [31 400]].
    const z = out32(4);
    b.channelAffine(f32([1, 2, 3, 4]), 2, 2, 1, f32([10, 100]), f32([1, 0]), z, false);
    assertSame(z, [11, 200, 31, 400], 'channelAffine s = 1');
  });

  test(`spatial [${b.name}]: channelAffine with the fused ReLU`, () => {
    // scale [1, −1], shift [−3, 5]: channel 0 → x − 3 (1 2 5 6 → −2 −1 2 3 → 0 0 2 3),
    // channel 1 → 5 − x (3 4 7 8 → 2 1 −2 −3 → 2 1 0 0).
    const y = out32(8);
    b.channelAffine(input(f32(X)), 2, 2, 2, f32([1, -1]), f32([-3, 5]), y, true);
    assertSame(y, [0, 0, 2, 1, 2, 3, 0, 0], 'channelAffine relu');
    checkGuards(y, 'channelAffine relu');
    // As relu does: NaN → 0, and −0 (−1·0 + (−0)) → +0 (assertSame tells −0 from +0).
    for (const s of [1, 5]) {
      const z = out32(s);
      b.channelAffine(f32([NaN, 0, -0, 2, -2].slice(0, s)), 1, 1, s, f32([-1]), f32([-0]), z, true);
      assertSame(z, [0, 0, 0, 0, 2].slice(0, s), `channelAffine relu: NaN → 0, −0 → +0 (s = ${s})`);
    }
  });

  test(`spatial [${b.name}]: channelSums accumulates into its outputs`, () => {
    // a = X, b = [[1 1 | 2 2], [0.5 0.5 | −1 1]].
    // Σa:  channel 0 = 1+2+5+6 = 14, channel 1 = 3+4+7+8 = 22.
    // Σab: channel 0 = 1+2+2.5+3 = 8.5, channel 1 = 6+8−7+8 = 15.
    // Starting from sumA = [100, 200], sumAB = [1, −1], two calls add each sum twice.
    const sumA = out32(2, [100, 200]), sumAB = out32(2, [1, -1]);
    const a = input(f32(X)), bb = input(f32([1, 1, 2, 2, 0.5, 0.5, -1, 1]));
    const zero = f32([0, 0]);
    b.channelSums(a, bb, 2, 2, 2, zero, NO_MASK, sumA, sumAB);
    assertSame(sumA, [114, 222], 'sumA after one call');
    assertSame(sumAB, [9.5, 14], 'sumAB after one call');
    b.channelSums(a, bb, 2, 2, 2, zero, NO_MASK, sumA, sumAB);
    assertSame(sumA, [128, 244], 'sumA after two calls');
    assertSame(sumAB, [18, 29], 'sumAB after two calls');
    checkGuards(sumA, 'sumA');
    checkGuards(sumAB, 'sumAB');
    // float64 sums: 2^24 + 1 + 1 is exact in float64, not in float32 (s = 1 and s = 3).
    const big = f32([16777216, 1, 1]);
    for (const [n, s] of [[3, 1], [1, 3]]) {
      const acc = new Float32Array(1), unused = new Float32Array(1);
      b.channelSums(big, new Float32Array(3), n, 1, s, new Float32Array(1), NO_MASK, acc, unused);
      assert.equal(acc[0], 16777218, `Σ in float64 (n = ${n}, s = ${s})`);
    }
  });

  test(`spatial [${b.name}]: channelSums centers b and masks a`, () => {
    // a = X, b as above, center [1, 2]: Σ a·(b − 1) for channel 0 = 0 + 0 + 5·(−0.5) + 6·(−0.5) = −5.5;
    // Σ a·(b − 2) for channel 1 = 0 + 0 + 7·(−3) + 8·(−1) = −29.
    const a = input(f32(X)), bb = input(f32([1, 1, 2, 2, 0.5, 0.5, -1, 1]));
    const sumA = out32(2, [0, 0]), sumAB = out32(2, [0, 0]);
    b.channelSums(a, bb, 2, 2, 2, f32([1, 2]), NO_MASK, sumA, sumAB);
    assertSame(sumA, [14, 22], 'centered sumA');
    assertSame(sumAB, [-5.5, -29], 'centered sumAB');
    // mask [[1 0 | −1 NaN], [2 0.5 | 3 −0]] keeps a at positions 0, 4, 5, 6: channel 0 keeps 1, 5, 6
    // (Σ 12; Σ a·(b − 1) = 0 − 2.5 − 3 = −5.5); channel 1 keeps 7 (Σ 7; 7·(−1 − 2) = −21).
    // s = 1 views the same data as [n = 4, c = 2] with the same mask.
    const mask = input(f32([1, 0, -1, NaN, 2, 0.5, 3, -0]));
    sumA.fill(0);
    sumAB.fill(0);
    b.channelSums(a, bb, 2, 2, 2, f32([1, 2]), mask, sumA, sumAB);
    assertSame(sumA, [12, 7], 'masked sumA');
    assertSame(sumAB, [-5.5, -21], 'masked sumAB');
    // As [4, 2, 1]: channel 0 is a[0], a[2], a[4], a[6] = 1 3 5 7 with mask 1 −1 2 3 → keeps 1, 5, 7;
    // channel 1 is 2 4 6 8 with mask 0 NaN 0.5 −0 → keeps 6. Center 0: Σab = 1·1 + 5·0.5 + 7·(−1) = −3.5; 6·0.5 = 3.
    sumA.fill(0);
    sumAB.fill(0);
    b.channelSums(a, bb, 4, 2, 1, f32([0, 0]), mask, sumA, sumAB);
    assertSame(sumA, [13, 6], 'masked sumA, s = 1');
    assertSame(sumAB, [-3.5, 3], 'masked sumAB, s = 1');
  });

  test(`spatial [${b.name}]: channelCombine`, () => {
    // α = [1, 2], β = [10, −1], γ = [0.5, 0]: channel 0 → a + 10b + 0.5, channel 1 → 2a − b.
    // a = X, b as in channelSums: channel 0 pairs (1,1) (2,1) (5,0.5) (6,0.5) → 11.5 12.5 10.5 11.5;
    // channel 1 pairs (3,2) (4,2) (7,−1) (8,1) → 4 6 15 15.
    const out = out32(8);
    b.channelCombine(input(f32(X)), input(f32([1, 1, 2, 2, 0.5, 0.5, -1, 1])), 2, 2, 2,
      f32([1, 2]), f32([10, -1]), f32([0.5, 0]), NO_MASK, out);
    assertSame(out, [11.5, 12.5, 4, 6, 10.5, 11.5, 15, 15], 'channelCombine');
    checkGuards(out, 'channelCombine');
    // The mask of channelSums' test zeroes a at positions 1, 2, 3, 7: those become 10b + 0.5 or −b:
    // 10.5 (a 2 dropped), −2 (a 3), −2 (a 4), and −1 (a 8).
    b.channelCombine(input(f32(X)), input(f32([1, 1, 2, 2, 0.5, 0.5, -1, 1])), 2, 2, 2,
      f32([1, 2]), f32([10, -1]), f32([0.5, 0]), input(f32([1, 0, -1, NaN, 2, 0.5, 3, -0])), out);
    assertSame(out, [11.5, 10.5, -2, -2, 10.5, 11.5, 15, -1], 'channelCombine masked');
  });
}

// ---------------------------------------------------------------------------------------------
// 2. Adjoint identities, exact on integer data

/** Convolution geometries [batch, channels, height, width, kernel, stride, padding]. */
const CONVS: [number, number, number, number, number, number, number][] = [
  [1, 1, 5, 5, 3, 1, 1],    // batch 1, "same"
  [2, 3, 7, 5, 3, 2, 1],    // odd, non-square, stride 2
  [3, 2, 6, 9, 5, 1, 2],    // 5×5 "same"
  [2, 4, 8, 8, 1, 1, 0],    // 1×1: every row one contiguous copy
  [2, 3, 9, 7, 3, 3, 0],    // stride 3, no padding
  [1, 2, 4, 6, 5, 3, 2],    // 5×5, stride 3, padding 2
  [2, 2, 3, 3, 5, 1, 1],    // kernel = H + 2p: one output position
  [2, 1, 2, 3, 5, 2, 2],    // kernel larger than the image, windows mostly padding
  [1, 2, 3, 4, 1, 2, 2],    // padding > kernel: whole output rows in the padding
  [2, 2, 28, 28, 3, 2, 1],  // 28 → 14
  [4, 8, 14, 14, 3, 1, 1],  // the 14×14 layer of the Fashion-MNIST CNN, fewer channels
  [1, 1, 1, 300, 3, 1, 1],  // rows of 300
  [8, 4, 28, 28, 3, 1, 1],  // past the native kernels' PAR_MIN: split between threads
];
const convName = ([B, C, H, W, k, s, p]: number[]) => `B=${B} C=${C} ${H}×${W} k=${k} s=${s} p=${p}`;

/** Pool geometries [planes, height, width, kernelHeight, kernelWidth, stride]. */
const POOLS: [number, number, number, number, number, number][] = [
  [6, 28, 28, 2, 2, 2],     // 2×2 s2
  [3, 7, 9, 2, 2, 2],       // 2×2 s2 on odd sizes: the last row and column are dropped
  [2, 9, 7, 3, 3, 2],       // 3×3 s2, overlapping
  [2, 6, 5, 3, 3, 1],       // 3×3 s1, overlapping
  [4, 7, 5, 7, 5, 1],       // global (kernel = H×W)
  [1, 5, 6, 2, 3, 1],       // non-square window
  [2, 3, 4, 1, 1, 1],       // 1×1: identity
  [2, 8, 8, 2, 2, 3],       // stride > kernel: gaps
  [1, 2, 600, 2, 2, 1],     // rows longer than the native avgPool block (256)
  [1, 1, 1, 1, 1, 1],
  [64, 28, 28, 2, 2, 2],    // past PAR_MIN: split between threads
  [48, 14, 14, 3, 3, 2],    // the same, overlapping
];
const poolName = ([P, H, W, kh, kw, s]: number[]) => `planes=${P} ${H}×${W} ${kh}×${kw} s=${s}`;

for (const b of backends) {
  test(`spatial [${b.name}]: col2im is the adjoint of im2col, ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ exactly on integers`, () => {
    for (const shape of CONVS) {
      const [B, C, H, W, k, s, p] = shape;
      const g = conv(C, H, W, k, s, p);
      const rng = new Rng(B * 1000 + C * 100 + H * 10 + W + k + s + p);
      const nx = B * C * H * W, nc = C * k * k * B * g.outHeight * g.outWidth;
      const x = randomInts(rng, nx), c = randomInts(rng, nc);
      const cols = new Float32Array(nc), dx = new Float32Array(nx);
      b.im2col(x, B, g, cols);
      b.col2im(c, B, g, dx);
      assert.equal(dot(cols, c), dot(x, dx), `⟨im2col(x), c⟩ vs ⟨x, col2im(c)⟩, ${convName(shape)}`);
    }
  });

  test(`spatial [${b.name}]: the pooling backwards are the adjoints (avg: exact for 2×2; max: of the argmax gather)`, () => {
    for (const shape of POOLS) {
      const [P, H, W, kh, kw, s] = shape;
      const g = pool(H, W, kh, kw, s);
      const rng = new Rng(P * 100 + H * 10 + W + kh + kw + s);
      const nx = P * H * W, ny = P * g.outHeight * g.outWidth;
      const x = randomInts(rng, nx), dy = randomInts(rng, ny);
      const y = new Float32Array(ny), dx = new Float32Array(nx);
      b.avgPool(x, P, g, y);
      b.avgPoolBackward(dy, P, g, dx);
      const lhs = dot(y, dy), rhs = dot(x, dx);
      if (kh * kw === 1 || kh * kw === 2 || kh * kw === 4) assert.equal(lhs, rhs, `avg adjoint, ${poolName(shape)}`);
      else assert.ok(Math.abs(lhs - rhs) <= 1e-6 * dot(x.map(Math.abs), new Float32Array(nx).fill(8)), `avg adjoint ${lhs} vs ${rhs}, ${poolName(shape)}`);
      // maxPool is linear in x for a fixed argmax: y = gather(x, argmax), backward = scatter.
      const argmax = new Int32Array(ny);
      b.maxPool(x, P, g, y, argmax);
      b.maxPoolBackward(dy, argmax, P, g, dx);
      assert.equal(dot(y, dy), dot(x, dx), `max adjoint, ${poolName(shape)}`);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// 3. Every backend against the reference on random data

const others = backends.filter((b) => b !== jsBackend);

for (const b of others) {
  test(`spatial [${b.name}]: im2col (bit-identical) and col2im vs js`, () => {
    for (const shape of CONVS) {
      const [B, C, H, W, k, s, p] = shape;
      const g = conv(C, H, W, k, s, p);
      const rng = new Rng(7 + B * 1000 + C * 100 + H * 10 + W + k + s + p);
      const nx = B * C * H * W, nc = C * k * k * B * g.outHeight * g.outWidth;
      const x = input(randomArray(rng, nx, 2));
      const want = new Float32Array(nc);
      jsBackend.im2col(x, B, g, want);
      const got = out32(nc);
      b.im2col(x, B, g, got);
      assertSame(got, want, `${b.name} im2col ${convName(shape)}`);
      checkGuards(got, `im2col ${convName(shape)}`);

      const cols = input(randomArray(rng, nc));
      const dxWant = new Float32Array(nx);
      jsBackend.col2im(cols, B, g, dxWant);
      const dx = out32(nx); // NaN: col2im must overwrite, not accumulate
      b.col2im(cols, B, g, dx);
      close(b, 'col2im', dx, dxWant, `col2im ${convName(shape)}`);
      checkGuards(dx, `col2im ${convName(shape)}`);
    }
  });

  test(`spatial [${b.name}]: swapAxes01 vs js (bit-identical)`, () => {
    for (const [d0, d1, inner] of [[3, 5, 7], [1, 1, 1], [4, 2, 1], [1, 6, 3], [16, 8, 196], [2, 3, 0], [0, 4, 5]]) {
      const n = d0 * d1 * inner;
      const x = input(randomArray(new Rng(d0 * 100 + d1 * 10 + inner), n));
      const want = new Float32Array(n), got = out32(n);
      jsBackend.swapAxes01(x, d0, d1, inner, want);
      b.swapAxes01(x, d0, d1, inner, got);
      assertSame(got, want, `${b.name} swapAxes01 ${d0}×${d1}×${inner}`);
      checkGuards(got, `swapAxes01 ${d0}×${d1}×${inner}`);
    }
  });

  test(`spatial [${b.name}]: maxPool (bit-identical, argmax included) and maxPoolBackward vs js`, () => {
    for (const shape of POOLS) {
      const [P, H, W, kh, kw, s] = shape;
      const g = pool(H, W, kh, kw, s);
      const nx = P * H * W, ny = P * g.outHeight * g.outWidth;
      const rng = new Rng(13 + P * 100 + H * 10 + W + kh + kw + s);
      // Uniform data; three levels (ties everywhere); uniform with 5% NaN.
      const variants: [string, Float32Array][] = [
        ['uniform', randomArray(rng, nx, 3)],
        ['ties', new Float32Array(nx).map(() => rng.int(3))],
        ['NaN', randomArray(rng, nx).map((v) => (rng.uniform() < 0.05 ? NaN : v))],
      ];
      for (const [kind, data] of variants) {
        const what = `${poolName(shape)}, ${kind}`;
        const x = input(data);
        const yWant = new Float32Array(ny), aWant = new Int32Array(ny);
        jsBackend.maxPool(x, P, g, yWant, aWant);
        const y = out32(ny), argmax = outI32(ny);
        b.maxPool(x, P, g, y, argmax);
        assertSame(y, yWant, `${b.name} maxPool y, ${what}`);
        assertSame(argmax, aWant, `${b.name} maxPool argmax, ${what}`);
        checkGuards(y, `maxPool y, ${what}`);
        checkGuards(argmax, `maxPool argmax, ${what}`);

        const dy = input(randomArray(rng, ny));
        const dxWant = new Float32Array(nx);
        jsBackend.maxPoolBackward(dy, aWant, P, g, dxWant);
        const dx = out32(nx);
        b.maxPoolBackward(dy, argmax, P, g, dx);
        if (s >= kh && s >= kw) assertSame(dx, dxWant, `${b.name} maxPoolBackward, ${what}`);
        else close(b, 'maxPoolBackward (overlapping)', dx, dxWant, `maxPoolBackward, ${what}`);
        checkGuards(dx, `maxPoolBackward, ${what}`);
      }
    }
  });

  test(`spatial [${b.name}]: avgPool and avgPoolBackward vs js`, () => {
    for (const shape of POOLS) {
      const [P, H, W, kh, kw, s] = shape;
      const g = pool(H, W, kh, kw, s);
      const nx = P * H * W, ny = P * g.outHeight * g.outWidth;
      const rng = new Rng(17 + P * 100 + H * 10 + W + kh + kw + s);
      const x = input(randomArray(rng, nx, 3));
      const want = new Float32Array(ny), got = out32(ny);
      jsBackend.avgPool(x, P, g, want);
      b.avgPool(x, P, g, got);
      close(b, 'avgPool', got, want, `avgPool ${poolName(shape)}`);
      checkGuards(got, `avgPool ${poolName(shape)}`);

      const dy = input(randomArray(rng, ny));
      const dxWant = new Float32Array(nx), dx = out32(nx);
      jsBackend.avgPoolBackward(dy, P, g, dxWant);
      b.avgPoolBackward(dy, P, g, dx);
      close(b, 'avgPoolBackward', dx, dxWant, `avgPoolBackward ${poolName(shape)}`);
      checkGuards(dx, `avgPoolBackward ${poolName(shape)}`);
    }
  });

  test(`spatial [${b.name}]: channelMoments, channelAffine (also in place), channelSums, channelCombine vs js`, () => {
    // [n, c, s]: s = 1 (x is [n, c], LayerNorm's and BatchNorm1d's layout) with c past the
    // native s = 1 path's block (256), conv-like planes, odd sizes.
    const SHAPES = [[1, 1, 1], [3, 5, 1], [128, 300, 1], [4, 3, 7], [2, 16, 196], [1, 64, 33], [5, 2, 1000], [1, 128, 256], [16, 8, 784]];
    for (const [n, c, s] of SHAPES) {
      const what = `[${n}, ${c}, ${s}]`;
      const rng = new Rng(n * 10000 + c * 100 + s);
      const N = n * c * s;
      // Offset from 0 so the two-pass variance matters.
      const x = input(randomArray(rng, N, 2).map((v) => v + 3));
      const y2 = input(randomArray(rng, N));
      const p1 = input(randomArray(rng, c, 2)), p2 = input(randomArray(rng, c, 2)), p3 = input(randomArray(rng, c, 2));

      const mean = out32(c), variance = out32(c), mWant = new Float32Array(c), vWant = new Float32Array(c);
      jsBackend.channelMoments(x, n, c, s, mWant, vWant);
      b.channelMoments(x, n, c, s, mean, variance);
      close(b, 'channelMoments', mean, mWant, `channelMoments mean ${what}`);
      close(b, 'channelMoments', variance, vWant, `channelMoments variance ${what}`);
      checkGuards(mean, `channelMoments mean ${what}`);
      checkGuards(variance, `channelMoments variance ${what}`);

      const aWant = new Float32Array(N), affine = out32(N);
      for (const relu of [false, true]) {
        jsBackend.channelAffine(x, n, c, s, p1, p2, aWant, relu);
        b.channelAffine(x, n, c, s, p1, p2, affine, relu);
        close(b, 'channelAffine', affine, aWant, `channelAffine ${what} relu ${relu}`);
        checkGuards(affine, `channelAffine ${what}`);
        const inPlace = out32(N, x);
        b.channelAffine(inPlace, n, c, s, p1, p2, inPlace, relu);
        close(b, 'channelAffine', inPlace, aWant, `channelAffine in place ${what} relu ${relu}`);
      }
      // About half the mask positive, as a ReLU output is.
      const mask = input(randomArray(rng, N));

      const start = randomArray(rng, 2 * c);
      const sa = out32(c, start.subarray(0, c)), sab = out32(c, start.subarray(c));
      const saWant = start.slice(0, c), sabWant = start.slice(c);
      for (const m of [NO_MASK, mask]) { // twice: it accumulates
        jsBackend.channelSums(x, y2, n, c, s, p3, m, saWant, sabWant);
        b.channelSums(x, y2, n, c, s, p3, m, sa, sab);
      }
      close(b, 'channelSums', sa, saWant, `channelSums sumA ${what}`);
      close(b, 'channelSums', sab, sabWant, `channelSums sumAB ${what}`);
      checkGuards(sa, `channelSums sumA ${what}`);
      checkGuards(sab, `channelSums sumAB ${what}`);

      const cWant = new Float32Array(N), combined = out32(N);
      for (const m of [NO_MASK, mask]) {
        jsBackend.channelCombine(x, y2, n, c, s, p1, p2, p3, m, cWant);
        b.channelCombine(x, y2, n, c, s, p1, p2, p3, m, combined);
        close(b, 'channelCombine', combined, cWant, `channelCombine ${what}${m.length ? ' masked' : ''}`);
        checkGuards(combined, `channelCombine ${what}`);
      }
    }
  });

  test(`spatial [${b.name}]: empty inputs: nothing read, the overwriting kernels still zero dx`, () => {
    // n = 0: channelSums adds nothing; channelMoments divides 0 by 0 (NaN), as the reference.
    const sa = f32([1, 2]), sab = f32([3, 4]), mean = f32([0, 0]), variance = f32([0, 0]);
    b.channelSums(new Float32Array(0), new Float32Array(0), 0, 2, 3, mean, NO_MASK, sa, sab);
    assertSame(sa, [1, 2], 'channelSums n = 0');
    assertSame(sab, [3, 4], 'channelSums n = 0');
    const mWant = f32([0, 0]), vWant = f32([0, 0]);
    jsBackend.channelMoments(new Float32Array(0), 0, 2, 3, mWant, vWant);
    b.channelMoments(new Float32Array(0), 0, 2, 3, mean, variance);
    assertSame(mean, mWant, 'channelMoments n = 0 mean');
    assertSame(variance, vWant, 'channelMoments n = 0 variance');
    // batch 0: im2col writes nothing; col2im and the pool backwards with 0 planes write nothing.
    const g = conv(2, 3, 3, 3, 1, 1);
    const untouched = f32([NaN]);
    b.im2col(new Float32Array(0), 0, g, untouched);
    b.col2im(new Float32Array(0), 0, g, untouched);
    b.maxPoolBackward(new Float32Array(0), new Int32Array(0), 0, pool(2, 2, 2, 2, 2), untouched);
    b.avgPoolBackward(new Float32Array(0), 0, pool(2, 2, 2, 2, 2), untouched);
    assert.ok(Number.isNaN(untouched[0]), 'an empty call wrote');
  });
}

// ---------------------------------------------------------------------------------------------
// 4. Native argument checking

const nativeResult = results.find((r) => r.name === 'native');

test('spatial [native]: misuse throws a TypeError or RangeError instead of crashing', () => {
  if (!nativeResult || !('backend' in nativeResult)) return assert.fail(`the native backend did not load: ${nativeResult && 'error' in nativeResult ? nativeResult.error : 'not tried'}`);
  const b = nativeResult.backend;
  const call = (fn: unknown, ...args: unknown[]) => () => (fn as (...a: unknown[]) => unknown)(...args);
  const g = conv(2, 5, 5, 3, 1, 1); // cols: 18 × 25 per image
  const x = new Float32Array(2 * 50), cols = new Float32Array(18 * 50);

  // Short arrays: RangeError naming the array.
  assert.throws(call(b.im2col, x, 2, g, cols.subarray(1)), { name: 'RangeError', message: /im2col: cols has 899 elements, the call needs 900/ });
  assert.throws(call(b.im2col, x.subarray(1), 2, g, cols), { name: 'RangeError', message: /x has 99 elements/ });
  assert.throws(call(b.col2im, cols, 2, g, x.subarray(0, 99)), { name: 'RangeError', message: /dx has 99 elements/ });
  const pg = pool(4, 4, 2, 2, 2);
  const px = new Float32Array(32), py = new Float32Array(8), pa = new Int32Array(8);
  assert.throws(call(b.maxPool, px, 2, pg, py.subarray(1), pa), { name: 'RangeError', message: /y has 7 elements/ });
  assert.throws(call(b.maxPool, px, 2, pg, py, pa.subarray(1)), { name: 'RangeError', message: /argmax has 7 elements/ });
  assert.throws(call(b.maxPoolBackward, py, pa, 2, pg, px.subarray(1)), { name: 'RangeError', message: /dx has 31 elements/ });
  assert.throws(call(b.avgPool, px.subarray(1), 2, pg, py), RangeError);
  assert.throws(call(b.avgPoolBackward, py.subarray(1), 2, pg, px), RangeError);
  assert.throws(call(b.swapAxes01, px, 2, 4, 4, px.subarray(1)), { name: 'RangeError', message: /out has 31 elements/ });
  assert.throws(call(b.channelMoments, px, 2, 4, 4, new Float32Array(3), new Float32Array(4)), { name: 'RangeError', message: /mean has 3 elements/ });
  assert.throws(call(b.channelAffine, px, 2, 4, 4, py, py.subarray(5), px, false), { name: 'RangeError', message: /shift has 3 elements/ });
  assert.throws(call(b.channelSums, px, px, 2, 4, 5, py, NO_MASK, py, py), { name: 'RangeError', message: /a has 32 elements, the call needs 40/ });
  assert.throws(call(b.channelSums, px, px, 2, 4, 4, py.subarray(5), NO_MASK, py, py), { name: 'RangeError', message: /center has 3 elements/ });
  assert.throws(call(b.channelSums, px, px, 2, 4, 4, py, px.subarray(1), py, py), { name: 'RangeError', message: /mask has 31 elements, the call needs 32/ });
  assert.throws(call(b.channelCombine, px, px, 2, 4, 4, py, py, py, NO_MASK, px.subarray(2)), { name: 'RangeError', message: /out has 30 elements/ });
  assert.throws(call(b.channelCombine, px, px, 2, 4, 4, py, py, py, px.subarray(3), px), { name: 'RangeError', message: /mask has 29 elements/ });

  // Wrong types: TypeError naming the argument.
  assert.throws(call(b.im2col, new Float64Array(100), 2, g, cols), { name: 'TypeError', message: /argument 1 \(x\) must be a Float32Array/ });
  assert.throws(call(b.maxPool, px, 2, pg, py, new Float32Array(8)), { name: 'TypeError', message: /\(argmax\) must be an Int32Array/ });
  assert.throws(call(b.maxPoolBackward, py, new Uint32Array(8), 2, pg, px), { name: 'TypeError', message: /\(argmax\) must be an Int32Array/ });
  assert.throws(call(b.channelCombine, px, px, 2, 4, 4, py, py, [1, 2, 3, 4], NO_MASK, px), { name: 'TypeError', message: /\(gamma\) must be a Float32Array/ });
  assert.throws(call(b.channelSums, px, null, 2, 4, 4, py, NO_MASK, py, py), TypeError);
  assert.throws(call(b.channelSums, px, px, 2, 4, 4, py, null, py, py), { name: 'TypeError', message: /\(mask\) must be a Float32Array/ });
  assert.throws(call(b.channelAffine, px, 2, 4, 4, py, py, px, 1), { name: 'TypeError', message: /\(relu\) must be a boolean/ });
  assert.throws(call(b.im2col, x, 2, { ...g, kernel: '3' }, cols), { name: 'TypeError', message: /\(kernel\) must be a number/ });
  assert.throws(call(b.maxPool, px, 2, {}, py, pa), TypeError); // missing fields are undefined

  // Bad sizes and inconsistent geometry: RangeError.
  assert.throws(call(b.im2col, x, 1.5, g, cols), { name: 'RangeError', message: /\(batch\) must be an integer/ });
  assert.throws(call(b.im2col, x, 2, { ...g, padding: -1 }, cols), RangeError);
  assert.throws(call(b.im2col, x, 2, { ...g, kernel: 0, outHeight: 7, outWidth: 7 }, cols), { name: 'RangeError', message: /kernel and stride must be at least 1/ });
  assert.throws(call(b.col2im, cols, 2, { ...g, stride: 0 }, x), { name: 'RangeError', message: /kernel and stride must be at least 1/ });
  assert.throws(call(b.im2col, x, 2, { ...g, outHeight: 4 }, cols), { name: 'RangeError', message: /outHeight 4 does not match/ });
  assert.throws(call(b.col2im, cols, 2, { ...g, outWidth: 6 }, x), { name: 'RangeError', message: /outWidth 6 does not match/ });
  assert.throws(call(b.maxPool, px, 2, { ...pg, outHeight: 3 }, py, pa), { name: 'RangeError', message: /outHeight 3 does not match/ });
  assert.throws(call(b.avgPool, px, 2, { ...pg, kernelWidth: 0 }, py), RangeError);
  assert.throws(call(b.maxPool, px, 2, { ...pg, stride: 1 }, py, pa), RangeError); // outHeight should be 3
  // Sizes whose product overflows 64 bits fail the size check instead of wrapping around.
  const huge = 2 ** 31 - 1;
  assert.throws(call(b.im2col, x, huge, conv(huge, 1, 1, 1, 1, 0), cols), RangeError);
  assert.throws(call(b.channelAffine, px, huge, huge, huge, py, py, px, false), RangeError);
  assert.throws(call(b.swapAxes01, px, huge, huge, huge, px), RangeError);

  // An argmax outside the plane throws before dx is written.
  const dx = new Float32Array(32).fill(7);
  assert.throws(call(b.maxPoolBackward, py, Int32Array.from([0, 1, 2, 16, 0, 0, 0, 0]), 2, pg, dx), { name: 'RangeError', message: /argmax\[3\] = 16 is outside \[0, 16\)/ });
  assert.throws(call(b.maxPoolBackward, py, Int32Array.from([0, 0, 0, 0, 0, 0, 0, -1]), 2, pg, dx), RangeError);
  assert.ok(dx.every((v) => v === 7), 'maxPoolBackward wrote dx before rejecting an argmax');

  // Still alive and correct.
  const y = new Float32Array(1), a = new Int32Array(1);
  b.maxPool(f32([1, 4, 3, 2]), 1, pool(2, 2, 2, 2, 2), y, a);
  assert.deepEqual([y[0], a[0]], [4, 1]);
});

test('spatial [native]: the threaded kernels give the same bits on 1 and 2 threads', () => {
  if (!nativeResult || !('backend' in nativeResult)) return assert.fail('the native backend did not load');
  const b = nativeResult.backend as Backend & { setBlasThreads(n: number): void; blasThreads(): number };
  const threads = b.blasThreads();
  const rng = new Rng(31);
  // Sizes past PAR_MIN (native/parallel.h), so every kernel's loop is split on 2 threads.
  const g = conv(16, 14, 14, 3, 1, 1), batch = 16, P = 14 * 14, N = batch * 16 * P, K = 16 * 9;
  const x = randomArray(rng, N), dyc = randomArray(rng, K * batch * P), mask = randomArray(rng, N);
  const pg = pool(14, 14, 2, 2, 2);
  const c = randomArray(rng, 16), d = randomArray(rng, 16), e = randomArray(rng, 16);
  const run = (n: number) => {
    b.setBlasThreads(n);
    const out: Record<string, ArrayLike<number>> = {};
    out.im2col = new Float32Array(K * batch * P);
    b.im2col(x, batch, g, out.im2col as Float32Array);
    out.col2im = new Float32Array(N);
    b.col2im(dyc, batch, g, out.col2im as Float32Array);
    out.swap = new Float32Array(N);
    b.swapAxes01(x, batch, 16, P, out.swap as Float32Array);
    out.maxPool = new Float32Array(N / 4);
    out.argmax = new Int32Array(N / 4);
    b.maxPool(x, batch * 16, pg, out.maxPool as Float32Array, out.argmax as Int32Array);
    out.maxPoolBackward = new Float32Array(N);
    b.maxPoolBackward(x.subarray(0, N / 4), out.argmax as Int32Array, batch * 16, pg, out.maxPoolBackward as Float32Array);
    out.avgPool = new Float32Array(N / 4);
    b.avgPool(x, batch * 16, pg, out.avgPool as Float32Array);
    out.avgPoolBackward = new Float32Array(N);
    b.avgPoolBackward(x.subarray(0, N / 4), batch * 16, pg, out.avgPoolBackward as Float32Array);
    out.mean = new Float32Array(16);
    out.variance = new Float32Array(16);
    b.channelMoments(x, batch, 16, P, out.mean as Float32Array, out.variance as Float32Array);
    out.affine = new Float32Array(N);
    b.channelAffine(x, batch, 16, P, c, d, out.affine as Float32Array, true);
    out.sumA = new Float32Array(16);
    out.sumAB = new Float32Array(16);
    b.channelSums(x, mask, batch, 16, P, c, mask, out.sumA as Float32Array, out.sumAB as Float32Array);
    out.combine = new Float32Array(N);
    b.channelCombine(x, mask, batch, 16, P, c, d, e, mask, out.combine as Float32Array);
    return out;
  };
  try {
    const one = run(1), two = run(2);
    for (const k of Object.keys(one)) assertSame(two[k], one[k], `${k} on 2 threads vs 1`);
  } finally {
    b.setBlasThreads(threads);
  }
});
