/* Max and average pooling, forward and backward (NCHW planes). */
#include "args.h"
#include "parallel.h"
#include "spatial.h"
#include "kernels.h"
#include <stdio.h>
#include <string.h>

/* Max over each window; argmax = the winner's index within its plane. The first maximum in
 * row-major window order wins (later pixels replace it only when strictly greater), and any
 * NaN replaces it (`v > cur || v != v`, PyTorch's CPU rule), so the last NaN of a window wins
 * and a NaN is never hidden, exactly as the reference. Generic windows: y's row starts as each window's first pixel and every
 * further tap (i, j), in row-major order, updates the whole row with branch-free selects
 * (vectorized over ow). 2×2 windows at stride 2 take all four pixels per output at once.
 * Bit-identical, argmax included. */
KERNEL(max_pool) {
  ARGS;
  const float *x = arg[0].f32;
  const int planes = arg[1].size;
  float *y = arg[9].f32;
  int32_t *argmax = arg[10].i32;
  pool_t g;
  if (!pool_geometry(env, ex, arg, 2, &g) ||
      !FITS(0, mul_sat(planes, mul_sat(g.H, g.W))) ||
      !FITS(9, mul_sat(planes, mul_sat(g.OH, g.OW))) ||
      !FITS(10, mul_sat(planes, mul_sat(g.OH, g.OW))))
    return NULL;
  const int64_t H = g.H, W = g.W, kh = g.kh, kw = g.kw, s = g.s, OH = g.OH, OW = g.OW;
  const int64_t plane = H * W, out_plane = OH * OW;
  if (out_plane == 0) return NULL;
  const int64_t par_work = (int64_t)planes * plane;
  PARALLEL_FOR
  for (int64_t pl = 0; pl < planes; pl++) {
    const float *src = x + pl * plane;
    float *yp = y + pl * out_plane;
    int32_t *ap = argmax + pl * out_plane;
    if (kh == 2 && kw == 2 && s == 2) {
      for (int64_t oh = 0; oh < OH; oh++) {
        const float *restrict r0 = src + 2 * oh * W, *restrict r1 = r0 + W;
        float *restrict yr = yp + oh * OW;
        int32_t *restrict ar = ap + oh * OW;
        const int32_t base = (int32_t)(2 * oh * W), below = (int32_t)W;
        /* Index selects as masks (GCC will not if-convert `gt ? idx : a` next to a float
         * compare): twice as fast as the plain select chain, measured. */
        for (int32_t ow = 0; ow < (int32_t)OW; ow++) {
          const int32_t at = base + 2 * ow;
          const float v1 = r0[2 * ow + 1], v2 = r1[2 * ow], v3 = r1[2 * ow + 1];
          float m = r0[2 * ow];
          int32_t a = at, take;
          take = -(int32_t)((v1 > m) | (v1 != v1));
          m = take ? v1 : m;
          a = ((at + 1) & take) | (a & ~take);
          take = -(int32_t)((v2 > m) | (v2 != v2));
          m = take ? v2 : m;
          a = ((at + below) & take) | (a & ~take);
          take = -(int32_t)((v3 > m) | (v3 != v3));
          m = take ? v3 : m;
          a = ((at + below + 1) & take) | (a & ~take);
          yr[ow] = m;
          ar[ow] = a;
        }
      }
      continue;
    }
    for (int64_t oh = 0; oh < OH; oh++) {
      float *restrict yr = yp + oh * OW;
      int32_t *restrict ar = ap + oh * OW;
      for (int64_t i = 0; i < kh; i++) {
        for (int64_t j = 0; j < kw; j++) {
          /* The tap's pixel for output column ow is at + ow·s (< H·W ≤ 2^31 − 1: int32). */
          const int32_t at = (int32_t)((oh * s + i) * W + j), step = (int32_t)s;
          const float *restrict r = src + at;
          if (i == 0 && j == 0) {
            for (int32_t ow = 0; ow < (int32_t)OW; ow++) {
              yr[ow] = r[(int64_t)ow * step];
              ar[ow] = at + ow * step;
            }
          } else {
            for (int32_t ow = 0; ow < (int32_t)OW; ow++) {
              /* The index select as a mask: GCC will not if-convert `gt ? idx : held` here. */
              const float v = r[(int64_t)ow * step], cur = yr[ow];
              const int32_t take = -(int32_t)((v > cur) | (v != v));
              yr[ow] = take ? v : cur;
              ar[ow] = ((at + ow * step) & take) | (ar[ow] & ~take);
            }
          }
        }
      }
    }
  }
  return NULL;
}

/* dx = 0, then dx[plane p][argmax[o]] += dy[o] in output order (overlapping windows accumulate
 * in the reference's order: bit-identical, −0 included: 0 + −0 = +0 as in the reference). Every
 * argmax is checked to lie in [0, H·W) before anything is written. */
KERNEL(max_pool_backward) {
  ARGS;
  const float *dy = arg[0].f32;
  const int32_t *argmax = arg[1].i32;
  const int planes = arg[2].size;
  float *dx = arg[10].f32;
  pool_t g;
  if (!pool_geometry(env, ex, arg, 3, &g) ||
      !FITS(0, mul_sat(planes, mul_sat(g.OH, g.OW))) ||
      !FITS(1, mul_sat(planes, mul_sat(g.OH, g.OW))) ||
      !FITS(10, mul_sat(planes, mul_sat(g.H, g.W))))
    return NULL;
  const int64_t plane = g.H * g.W, out_plane = g.OH * g.OW, n_out = (int64_t)planes * out_plane;
  uint32_t top = 0;
  for (int64_t o = 0; o < n_out; o++) top = (uint32_t)argmax[o] > top ? (uint32_t)argmax[o] : top;
  if (n_out > 0 && top >= (uint64_t)plane) {
    for (int64_t o = 0; o < n_out; o++) {
      if ((uint32_t)argmax[o] >= (uint64_t)plane) {
        char msg[160];
        snprintf(msg, sizeof msg, "argmax[%lld] = %d is outside [0, %lld)", (long long)o, argmax[o], (long long)plane);
        throw_range(env, ex, msg);
        return NULL;
      }
    }
  }
  const int64_t par_work = (int64_t)planes * plane;
  PARALLEL_FOR
  for (int64_t pl = 0; pl < planes; pl++) {
    float *d = dx + pl * plane;
    memset(d, 0, (size_t)plane * sizeof(float)); /* plane by plane: zeroed while in cache */
    const float *g_ = dy + pl * out_plane;
    const int32_t *a = argmax + pl * out_plane;
    for (int64_t o = 0; o < out_plane; o++) d[a[o]] += g_[o];
  }
  return NULL;
}

/* Mean over each window. Each output's window is summed in float64 in row-major order from 0,
 * then divided by kh·kw and rounded once: the reference's arithmetic exactly (bit-identical).
 * A block of output columns keeps its float64 sums in `acc`, and each tap (i, j) adds one
 * (strided) row into them, so the inner loop runs over ow; 2×2 windows at stride 2 sum their
 * four pixels directly. */
KERNEL(avg_pool) {
  ARGS;
  const float *x = arg[0].f32;
  const int planes = arg[1].size;
  float *y = arg[9].f32;
  pool_t g;
  if (!pool_geometry(env, ex, arg, 2, &g) ||
      !FITS(0, mul_sat(planes, mul_sat(g.H, g.W))) ||
      !FITS(9, mul_sat(planes, mul_sat(g.OH, g.OW))))
    return NULL;
  const int64_t W = g.W, kh = g.kh, kw = g.kw, s = g.s, OH = g.OH, OW = g.OW;
  const int64_t plane = g.H * W, out_plane = OH * OW;
  const double area = (double)kh * (double)kw;
  enum { BLOCK = 256 };
  const int64_t par_work = (int64_t)planes * plane;
  PARALLEL_FOR
  for (int64_t pl = 0; pl < planes; pl++) {
    double acc[BLOCK];
    const float *src = x + pl * plane;
    float *yp = y + pl * out_plane;
    if (kh == 2 && kw == 2 && s == 2) { /* the same four float64 additions, in registers */
      for (int64_t oh = 0; oh < OH; oh++) {
        const float *restrict r0 = src + 2 * oh * W, *restrict r1 = r0 + W;
        float *restrict yr = yp + oh * OW;
        for (int64_t ow = 0; ow < OW; ow++)
          yr[ow] = (float)(((((double)r0[2 * ow] + r0[2 * ow + 1]) + r1[2 * ow]) + r1[2 * ow + 1]) / area);
      }
      continue;
    }
    for (int64_t oh = 0; oh < OH; oh++) {
      for (int64_t ow0 = 0; ow0 < OW; ow0 += BLOCK) {
        const int64_t w = OW - ow0 < BLOCK ? OW - ow0 : BLOCK;
        for (int64_t t = 0; t < w; t++) acc[t] = 0;
        for (int64_t i = 0; i < kh; i++) {
          const float *r = src + (oh * s + i) * W + ow0 * s;
          if (w == 1) { /* one window per row (e.g. a global pool): sum the window row directly */
            double sum = acc[0];
            for (int64_t j = 0; j < kw; j++) sum += r[j];
            acc[0] = sum;
            continue;
          }
          for (int64_t j = 0; j < kw; j++) {
            const float *rj = r + j;
            if (s == 1)
              for (int64_t t = 0; t < w; t++) acc[t] += rj[t];
            else
              for (int64_t t = 0; t < w; t++) acc[t] += rj[t * s];
          }
        }
        float *yr = yp + oh * OW + ow0;
        for (int64_t t = 0; t < w; t++) yr[t] = (float)(acc[t] / area);
      }
    }
  }
  return NULL;
}

/* dx = 0, then dx[pixel] += dy[o]/(kh·kw) over the windows containing it, each addition in
 * float64 rounded once to float32 as the reference's `dx[src] += dy[o] / area`. Loop order
 * (oh, i, ow, j) visits a pixel's windows in the reference's output order (for one pixel, i is
 * fixed by oh and j by ow): bit-identical. */
KERNEL(avg_pool_backward) {
  ARGS;
  const float *dy = arg[0].f32;
  const int planes = arg[1].size;
  float *dx = arg[9].f32;
  pool_t g;
  if (!pool_geometry(env, ex, arg, 2, &g) ||
      !FITS(0, mul_sat(planes, mul_sat(g.OH, g.OW))) ||
      !FITS(9, mul_sat(planes, mul_sat(g.H, g.W))))
    return NULL;
  const int64_t W = g.W, kh = g.kh, kw = g.kw, s = g.s, OH = g.OH, OW = g.OW;
  const int64_t plane = g.H * W, out_plane = OH * OW;
  const double area = (double)kh * (double)kw;
  const int64_t par_work = (int64_t)planes * plane;
  PARALLEL_FOR
  for (int64_t pl = 0; pl < planes; pl++) {
    float *d = dx + pl * plane;
    memset(d, 0, (size_t)plane * sizeof(float)); /* plane by plane: zeroed while in cache */
    const float *gp = dy + pl * out_plane;
    for (int64_t oh = 0; oh < OH; oh++) {
      const float *gr = gp + oh * OW;
      for (int64_t i = 0; i < kh; i++) {
        float *r = d + (oh * s + i) * W;
        for (int64_t ow = 0; ow < OW; ow++) {
          const double v = (double)gr[ow] / area;
          float *rw = r + ow * s;
          for (int64_t j = 0; j < kw; j++) rw[j] = (float)((double)rw[j] + v);
        }
      }
    }
  }
  return NULL;
}
