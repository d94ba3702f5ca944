/* Geometry shared by the convolution and pooling kernels (conv.c, pool.c): NCHW planes,
 * windows that stay inside the plane or its zero padding.
 *
 * The reference of conv.c, pool.c and channel.c is src/kernels/js/spatial.ts; each kernel
 * says how it relates to it (bit-identical where it keeps the reference's order of operations,
 * else within float64 summation-order noise). Loops run over output columns innermost, so rows
 * are contiguous and the compiler vectorizes them; positions that would read the zero padding
 * or leave the plane are computed once per kernel tap (valid_range), never tested per element. */
#ifndef RIDGELINE_SPATIAL_H
#define RIDGELINE_SPATIAL_H
#include "args.h"
#include <stdio.h>

/* floor(a / b) for b > 0 (C's `/` truncates toward zero). */
static inline int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* The output positions o ∈ [0, n_out) whose input position o·stride + offset lies in
 * [0, n_in): the half-open range [*lo, *hi) (empty: *lo == *hi). */
static inline void valid_range(int64_t n_out, int64_t stride, int64_t offset, int64_t n_in, int64_t *lo, int64_t *hi) {
  int64_t l = offset >= 0 ? 0 : (-offset + stride - 1) / stride; /* ceil(−offset / stride) */
  int64_t h = n_in - offset <= 0 ? 0 : (n_in - offset + stride - 1) / stride;
  if (l > n_out) l = n_out;
  if (h > n_out) h = n_out;
  if (h < l) h = l;
  *lo = l;
  *hi = h;
}

/* Checks one axis: kernel ≥ 1, stride ≥ 1, out == floor((in + 2·pad − kernel)/stride) + 1. */
static inline bool check_axis(napi_env env, const export_t *ex, const char *axis, int64_t in, int64_t pad,
                              int64_t kernel, int64_t stride, int64_t out) {
  char msg[160];
  if (kernel < 1 || stride < 1) {
    snprintf(msg, sizeof msg, "kernel and stride must be at least 1, got kernel %lld, stride %lld",
             (long long)kernel, (long long)stride);
    throw_range(env, ex, msg);
    return false;
  }
  const int64_t expect = floor_div(in + 2 * pad - kernel, stride) + 1;
  if (out != expect) {
    snprintf(msg, sizeof msg, "out%s %lld does not match the geometry: floor((%lld + 2*%lld - %lld)/%lld) + 1 = %lld",
             axis, (long long)out, (long long)in, (long long)pad, (long long)kernel, (long long)stride, (long long)expect);
    throw_range(env, ex, msg);
    return false;
  }
  return true;
}

/* ConvGeometry: channels, height, width, kernel, stride, padding, outHeight,
 * outWidth, as arguments first … first + 7 of the call (sizes, already checked as such). */
typedef struct { int64_t C, H, W, k, s, p, OH, OW; } conv_t;

static inline bool conv_geometry(napi_env env, const export_t *ex, const arg_t *arg, size_t first, conv_t *g) {
  const arg_t *v = arg + first;
  *g = (conv_t){v[0].size, v[1].size, v[2].size, v[3].size, v[4].size, v[5].size, v[6].size, v[7].size};
  return check_axis(env, ex, "Height", g->H, g->p, g->k, g->s, g->OH) &&
         check_axis(env, ex, "Width", g->W, g->p, g->k, g->s, g->OW);
}

/* PoolGeometry: height, width, kernelHeight, kernelWidth, stride, outHeight, outWidth, as
 * arguments first … first + 6. Planes over 2^31 − 1 pixels are refused: argmax is an Int32Array. */
typedef struct { int64_t H, W, kh, kw, s, OH, OW; } pool_t;

static inline bool pool_geometry(napi_env env, const export_t *ex, const arg_t *arg, size_t first, pool_t *g) {
  const arg_t *v = arg + first;
  *g = (pool_t){v[0].size, v[1].size, v[2].size, v[3].size, v[4].size, v[5].size, v[6].size};
  if (!check_axis(env, ex, "Height", g->H, 0, g->kh, g->s, g->OH) ||
      !check_axis(env, ex, "Width", g->W, 0, g->kw, g->s, g->OW))
    return false;
  if (g->H * g->W > INT32_MAX) {
    throw_range(env, ex, "a plane of more than 2^31 - 1 pixels does not fit an Int32Array argmax");
    return false;
  }
  return true;
}

#endif
