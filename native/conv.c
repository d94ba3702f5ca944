/* Convolution as im2col + GEMM: the unfolding, its adjoint, and the axis swap between the
 * GEMM's layout and NCHW. */
#include "args.h"
#include "parallel.h"
#include "spatial.h"
#include "kernels.h"
#include <stdbool.h>
#include <string.h>

/* GCC turns short copy and zero loops into memcpy/memset calls; im2col's rows are short (14
 * floats on the 14×14 layer), where the inline vectorized loops measured ~20% faster. */
#if defined(__GNUC__) && !defined(__clang__)
#define INLINE_LOOPS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define INLINE_LOOPS
#endif

/* One row of im2col: d[ow] = src[ow·stride + off] for ow ∈ [lo, hi), 0 elsewhere in [0, OW). */
INLINE_LOOPS static inline void unfold_row(float *restrict d, const float *restrict src, int64_t OW, int64_t lo, int64_t hi,
                              int64_t stride, int64_t off) {
  for (int64_t ow = 0; ow < lo; ow++) d[ow] = 0;
  if (stride == 1)
    for (int64_t ow = lo; ow < hi; ow++) d[ow] = src[ow + off];
  else
    for (int64_t ow = lo; ow < hi; ow++) d[ow] = src[ow * stride + off];
  for (int64_t ow = hi; ow < OW; ow++) d[ow] = 0;
}

/* cols[(c, i, j), (b, oh, ow)] = x[b, c, oh·s − p + i, ow·s − p + j] (0 in the padding).
 * Rows of cols are written front to back, split between threads in blocks of one image's
 * out_plane floats. When the valid part of a tap's rows is one contiguous block
 * of x (stride 1, outWidth == width, j == padding: the centre column of a "same" convolution,
 * or any 1×1 convolution without padding) it is copied in one memcpy. Bit-identical (copies). */
INLINE_LOOPS KERNEL(im2col) {
  ARGS;
  const float *x = arg[0].f32;
  const int batch = arg[1].size;
  float *cols = arg[10].f32;
  conv_t g;
  if (!conv_geometry(env, ex, arg, 2, &g) ||
      !FITS(0, mul_sat(mul_sat(batch, g.C), mul_sat(g.H, g.W))) ||
      !FITS(10, mul_sat(mul_sat(mul_sat(g.C, g.k), g.k), mul_sat(batch, mul_sat(g.OH, g.OW)))))
    return NULL;
  const int64_t C = g.C, H = g.H, W = g.W, k = g.k, s = g.s, p = g.p, OH = g.OH, OW = g.OW;
  const int64_t plane = H * W, out_plane = OH * OW, ncols = (int64_t)batch * out_plane;
  if (ncols == 0) return NULL;
  /* One task per (row (c, i, j), image b): cols' blocks of out_plane floats, in memory order. */
  const int64_t tasks = C * k * k * batch, par_work = tasks * out_plane;
  PARALLEL_FOR
  for (int64_t t = 0; t < tasks; t++) {
    const int64_t r = t / batch, b = t % batch, c = r / (k * k), i = r / k % k, j = r % k;
    int64_t lo_h, hi_h, lo_w, hi_w;
    valid_range(OH, s, i - p, H, &lo_h, &hi_h);
    valid_range(OW, s, j - p, W, &lo_w, &hi_w);
    const bool block = s == 1 && j == p && OW == W && lo_w == 0 && hi_w == OW;
    const float *src = x + (b * C + c) * plane;
    float *dst = cols + r * ncols + b * out_plane;
    if (lo_h > 0) memset(dst, 0, (size_t)(lo_h * OW) * sizeof(float));
    if (block) {
      if (hi_h > lo_h) memcpy(dst + lo_h * OW, src + (lo_h - p + i) * W, (size_t)((hi_h - lo_h) * W) * sizeof(float));
    } else {
      for (int64_t oh = lo_h; oh < hi_h; oh++)
        unfold_row(dst + oh * OW, src + (oh * s - p + i) * W, OW, lo_w, hi_w, s, j - p);
    }
    if (hi_h < OH) memset(dst + hi_h * OW, 0, (size_t)((OH - hi_h) * OW) * sizeof(float));
  }
  return NULL;
}


/* The adjoint of im2col: dx = 0, then dx[b, c, h, w] += cols[(c, i, j), (b, oh, ow)] over the
 * taps that read (h, w). Plane by plane (threads split the planes; a plane stays in L1 while
 * its k² taps accumulate into it), taps in the reference's (i, j) order; one tap reads a pixel
 * at most once, so each pixel sums its taps in the reference's order with one float32
 * rounding per addition, as the reference's `dx[src] += …` does: bit-identical. */
KERNEL(col2im) {
  ARGS;
  const float *cols = arg[0].f32;
  const int batch = arg[1].size;
  float *dx = arg[10].f32;
  conv_t g;
  if (!conv_geometry(env, ex, arg, 2, &g) ||
      !FITS(0, mul_sat(mul_sat(mul_sat(g.C, g.k), g.k), mul_sat(batch, mul_sat(g.OH, g.OW)))) ||
      !FITS(10, mul_sat(mul_sat(batch, g.C), mul_sat(g.H, g.W))))
    return NULL;
  const int64_t C = g.C, H = g.H, W = g.W, k = g.k, s = g.s, p = g.p, OH = g.OH, OW = g.OW;
  const int64_t plane = H * W, out_plane = OH * OW, ncols = (int64_t)batch * out_plane;
  if (plane == 0) return NULL;
  const int64_t planes = (int64_t)batch * C, par_work = planes * plane * (1 + k * k);
  PARALLEL_FOR
  for (int64_t t = 0; t < planes; t++) {
    const int64_t b = t / C, c = t % C;
    float *restrict dst = dx + t * plane;
    memset(dst, 0, (size_t)plane * sizeof(float));
    if (ncols == 0) continue;
    for (int64_t i = 0; i < k; i++) {
      int64_t lo_h, hi_h;
      valid_range(OH, s, i - p, H, &lo_h, &hi_h);
      for (int64_t j = 0; j < k; j++) {
        int64_t lo_w, hi_w;
        valid_range(OW, s, j - p, W, &lo_w, &hi_w);
        const bool block = s == 1 && j == p && OW == W && lo_w == 0 && hi_w == OW;
        const int64_t off = j - p;
        const float *restrict src = cols + ((c * k + i) * k + j) * ncols + b * out_plane;
        if (block) {
          if (hi_h == lo_h) continue;
          float *restrict d = dst + (lo_h - p + i) * W;
          const float *restrict q = src + lo_h * OW;
          const int64_t n = (hi_h - lo_h) * W;
          for (int64_t e = 0; e < n; e++) d[e] += q[e];
        } else if (s == 1) {
          for (int64_t oh = lo_h; oh < hi_h; oh++) {
            float *restrict d = dst + (oh - p + i) * W;
            const float *restrict q = src + oh * OW;
            for (int64_t ow = lo_w; ow < hi_w; ow++) d[ow + off] += q[ow];
          }
        } else {
          for (int64_t oh = lo_h; oh < hi_h; oh++) {
            float *restrict d = dst + (oh * s - p + i) * W;
            const float *restrict q = src + oh * OW;
            for (int64_t ow = lo_w; ow < hi_w; ow++) d[ow * s + off] += q[ow];
          }
        }
      }
    }
  }
  return NULL;
}

/* out[j, i, :] = x[i, j, :] for x of shape [d0, d1, inner]. Bit-identical (copies). */
KERNEL(swap_axes01) {
  ARGS;
  const float *x = arg[0].f32;
  const int d0 = arg[1].size, d1 = arg[2].size, inner = arg[3].size;
  float *out = arg[4].f32;
  const int64_t n = mul_sat(mul_sat(d0, d1), inner);
  if (!FITS(0, n) || !FITS(4, n)) return NULL;
  if (n == 0) return NULL;
  const int64_t par_work = n;
  if (inner == 1) { /* a plain transpose */
    PARALLEL_FOR
    for (int64_t i = 0; i < d0; i++)
      for (int64_t j = 0; j < d1; j++) out[j * d0 + i] = x[i * d1 + j];
    return NULL;
  }
  PARALLEL_FOR
  for (int64_t t = 0; t < (int64_t)d0 * d1; t++) {
    const int64_t i = t / d1, j = t % d1;
    memcpy(out + (j * d0 + i) * inner, x + t * inner, (size_t)inner * sizeof(float));
  }
  return NULL;
}
