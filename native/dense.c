/* Dense-layer kernels: the GEMM, bias rows, activations, the loss and Σw². The reference is
 * src/kernels/js/index.ts. */
#include "args.h"
#include "parallel.h"
#include "kernels.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

/* C ← α·op(A)·op(B) + β·C, row-major; β = 0 never reads C. */
KERNEL(gemm) {
  ARGS;
  const bool ta = arg[0].b, tb = arg[1].b;
  const int m = arg[2].size, n = arg[3].size, k = arg[4].size;
  const double alpha = arg[5].num, beta = arg[8].num;
  const float *a = arg[6].f32, *b = arg[7].f32;
  float *c = arg[9].f32;
  if (!FITS(6, (int64_t)m * k) || !FITS(7, (int64_t)k * n) || !FITS(9, (int64_t)m * n)) return NULL;
  if (m == 0 || n == 0) return NULL;
  if (k == 0 || alpha == 0) {
    /* No product to add: C ← β·C, done here so BLAS never sees a zero leading dimension. */
    const size_t mn = (size_t)m * n;
    const float fb = (float)beta;
    if (beta == 0) memset(c, 0, mn * sizeof(float));
    else if (beta != 1) for (size_t i = 0; i < mn; i++) c[i] *= fb;
    return NULL;
  }
  if (!sgemm(ta, tb, m, n, k, (float)alpha, a, b, (float)beta, c)) napi_throw_error(env, NULL, "gemm: out of memory for the packing buffer");
  return NULL;
}

/* y[r, j] += bias[j]. */
KERNEL(add_row_vector) {
  ARGS;
  float *y = arg[0].f32;
  const float *bias = arg[1].f32;
  const int rows = arg[2].size, cols = arg[3].size;
  if (!FITS(0, (int64_t)rows * cols) || !FITS(1, cols)) return NULL;
  for (int r = 0; r < rows; r++) {
    float *row = y + (size_t)r * cols;
    for (int j = 0; j < cols; j++) row[j] += bias[j];
  }
  return NULL;
}

/* out[j] += Σ_r x[r, j], summed in float64 row by row (the reference's order), rounded once. */
KERNEL(sum_rows_into) {
  ARGS;
  const float *x = arg[0].f32;
  const int rows = arg[1].size, cols = arg[2].size;
  float *out = arg[3].f32;
  if (!FITS(0, (int64_t)rows * cols) || !FITS(3, cols)) return NULL;
  enum { BLOCK = 256 }; /* 2 KiB of accumulators on the stack, any number of columns */
  double acc[BLOCK];
  for (int j0 = 0; j0 < cols; j0 += BLOCK) {
    const int w = cols - j0 < BLOCK ? cols - j0 : BLOCK;
    for (int j = 0; j < w; j++) acc[j] = 0;
    for (int r = 0; r < rows; r++) {
      const float *row = x + (size_t)r * cols + j0;
      for (int j = 0; j < w; j++) acc[j] += row[j];
    }
    for (int j = 0; j < w; j++) out[j0 + j] = (float)((double)out[j0 + j] + acc[j]);
  }
  return NULL;
}

/* The elementwise kernels share one shape: (p, q[, o], n) with every array at least n long. */
#define UNARY(cname, body)                                   \
  KERNEL(cname) {                                            \
    ARGS;                                                    \
    const float *p = arg[0].f32;                             \
    float *q = arg[1].f32;                                   \
    const int n = arg[2].size;                               \
    if (!FITS(0, n) || !FITS(1, n)) return NULL;             \
    for (int i = 0; i < n; i++) { body; }                    \
    return NULL;                                             \
  }

#define BINARY(cname, body)                                         \
  KERNEL(cname) {                                                   \
    ARGS;                                                           \
    const float *p = arg[0].f32, *q = arg[1].f32;                   \
    float *o = arg[2].f32;                                          \
    const int n = arg[3].size;                                      \
    if (!FITS(0, n) || !FITS(1, n) || !FITS(2, n)) return NULL;     \
    for (int i = 0; i < n; i++) { body; }                           \
    return NULL;                                                    \
  }

#define INV_SQRT_2PI 0.3989422804014327f
#define SQRT1_2 0.7071067811865476f

/* Φ(x) = erfc(−x/√2)/2: erfc keeps relative accuracy in the far negative tail. */
static inline float normal_cdf(float x) { return 0.5f * erfcf(-x * SQRT1_2); }

/* y = max(x, 0) (NaN → 0, as the reference's `x > 0 ? x : 0`). */
UNARY(relu, q[i] = p[i] > 0 ? p[i] : 0)
/* y = tanh(x). */
UNARY(tanh_fwd, q[i] = tanhf(p[i]))
/* y = x·Φ(x), the exact (erf) GELU. */
UNARY(gelu, q[i] = p[i] * normal_cdf(p[i]))
/* dx = dy where y > 0 (dy is loaded unconditionally so the loop vectorizes). */
BINARY(relu_backward, const float d = q[i]; o[i] = p[i] > 0 ? d : 0)
/* dx = dy·(1 − y²), in float64 and rounded once, as the reference. */
BINARY(tanh_backward, o[i] = (float)((double)q[i] * (1.0 - (double)p[i] * (double)p[i])))
/* dx = dy·(Φ(x) + x·φ(x)). */
BINARY(gelu_backward, const float v = p[i]; o[i] = q[i] * (normal_cdf(v) + v * expf(-0.5f * v * v) * INV_SQRT_2PI))
/* out = a ⊙ b. */
BINARY(mul, o[i] = p[i] * q[i])

/* dlogits = scale·(softmax − onehot); returns Σ_rows CE. Per row in float64, as the reference
 * (cols is the class count, so this is never the hot part of a step). Labels are checked first,
 * so a bad label throws before anything is written. */
KERNEL(softmax_cross_entropy) {
  ARGS;
  const float *logits = arg[0].f32;
  const int32_t *labels = arg[1].i32;
  const int rows = arg[2].size, cols = arg[3].size;
  float *dlogits = arg[4].f32;
  const double scale = arg[5].num;
  if (!FITS(0, (int64_t)rows * cols) || !FITS(1, rows) || !FITS(4, (int64_t)rows * cols)) return NULL;
  for (int r = 0; r < rows; r++) {
    if (labels[r] < 0 || labels[r] >= cols) {
      char msg[120];
      snprintf(msg, sizeof msg, "label %d at row %d is outside [0, %d)", labels[r], r, cols);
      throw_range(env, ex, msg);
      return NULL;
    }
  }
  double total = 0;
  for (int r = 0; r < rows; r++) {
    const float *z = logits + (size_t)r * cols;
    float *g = dlogits + (size_t)r * cols;
    double max = -INFINITY, sum = 0;
    for (int j = 0; j < cols; j++) if (z[j] > max) max = z[j];
    for (int j = 0; j < cols; j++) sum += exp((double)z[j] - max);
    const double log_sum = log(sum);
    const int y = labels[r];
    total += log_sum - ((double)z[y] - max);
    for (int j = 0; j < cols; j++) {
      const double p = exp((double)z[j] - max - log_sum);
      g[j] = (float)(scale * (j == y ? p - 1 : p));
    }
  }
  return number(env, total);
}

/* Σ x² over [i0, i1) in float64 (the simd pragma lets the compiler split the sum into lanes). */
static double sum_squares_run(const float *x, int i0, int i1) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int i = i0; i < i1; i++) s += (double)x[i] * (double)x[i];
  return s;
}

/* Σ x² in float64. A parameter of PARAM_SPLIT_MIN or more floats is summed as two halves added
 * at the end, whatever the thread count (so the bits do not depend on it), the halves on two
 * threads when there are two: they are the halves the optimizer pass updates on each core, and
 * a penalty's Σw² each step read the second core's half across on one thread (MLP step with
 * λ on 2 threads: 121k samples/s with Σw² on one thread, 136k without a penalty). */
KERNEL(sum_squares) {
  ARGS;
  const float *x = arg[0].f32;
  const int n = arg[1].size;
  if (!FITS(0, n)) return NULL;
  if (n < PARAM_SPLIT_MIN) return number(env, sum_squares_run(x, 0, n));
  const int half = run_start(n, 1, 2);
  if (par_threads == 1) return number(env, sum_squares_run(x, 0, half) + sum_squares_run(x, half, n));
  double part[2];
  _Pragma("omp parallel for schedule(static) num_threads(2)")
  for (int t = 0; t < 2; t++) part[t] = t == 0 ? sum_squares_run(x, 0, half) : sum_squares_run(x, half, n);
  return number(env, part[0] + part[1]);
}
