/*
 * ridgeline_native: the Backend interface of src/kernels/backend.ts as an N-API addon in C.
 * GEMM is our own AVX-512 kernel (gemm.c) on CPUs that have AVX-512, else the system CBLAS
 * (OpenBLAS: cblas_sgemm, row-major); everything else is plain C loops written so the compiler
 * vectorizes them. The reference is src/kernels/js/index.ts
 * (convolution, pooling and per-channel kernels: src/kernels/js/spatial.ts);
 * src/kernels/native/index.ts loads this file and test/kernels/native.test.ts and
 * test/kernels/spatial.test.ts compare them.
 *
 * Every export is a row of EXPORTS at the bottom (name, function, argument count). The table
 * is also exported as `abi` ({ name: argc }), which the TypeScript loader checks against its
 * own table, so a stale or mismatched build fails to load with a reason instead of misbehaving.
 *
 * Misuse never crashes the process: each call checks its argument count, that every matrix is
 * a Float32Array (labels an Int32Array), that sizes are integers in [0, 2^31) and that every
 * array holds at least the elements the call reads or writes. Wrong count or type throws a
 * TypeError; a size that is negative, fractional or larger than an array throws a RangeError;
 * a label outside [0, cols) throws a RangeError before anything is written.
 *
 * Convolution and pooling geometry crosses the boundary as plain numbers (the TypeScript
 * loader unpacks ConvGeometry/PoolGeometry); kernel and stride must be ≥ 1 and outHeight /
 * outWidth must equal floor((H + 2·padding − kernel)/stride) + 1 exactly, so every window a
 * kernel visits lies inside its plane (or the zero padding); otherwise a RangeError. Array
 * sizes are products of up to six such numbers: they are computed saturating (mul_sat), so an
 * absurd geometry fails `fits` instead of wrapping around.
 *
 * Typed arrays: napi_get_typedarray_info returns `data` already advanced by the view's
 * byteOffset (Node's documented contract: "adjusted by the byte_offset value so that it
 * points to the first element"), so subarray views are honoured by using `data` as is and
 * checking against the view's own `length`; adding byte_offset again would be a double offset.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#ifndef RIDGELINE_NO_CBLAS
#include <cblas.h>
#endif
/* Built without a CBLAS (no libopenblas-dev), gemm_portable.c multiplies where gemm.c cannot. */
#include "gemm_portable.h"
#include "gemm.h"
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One row of the export table; the row is the callback's `data`, so a function knows its name
 * (for error messages) and its argument count. */
typedef struct {
  const char *name;
  napi_callback fn;
  size_t argc;
} export_t;

#define MAX_ARGS 12

/* ---------------------------------------------------------------------------------------- */
/* Argument checking. Each helper throws and returns false on failure. */

static void throw_type(napi_env env, const export_t *ex, const char *fmt, const char *what, size_t i) {
  char msg[200];
  char detail[120];
  snprintf(detail, sizeof detail, fmt, what);
  snprintf(msg, sizeof msg, "ridgeline native %s: argument %zu %s", ex->name, i + 1, detail);
  napi_throw_type_error(env, NULL, msg);
}

static void throw_range(napi_env env, const export_t *ex, const char *detail) {
  char msg[200];
  snprintf(msg, sizeof msg, "ridgeline native %s: %s", ex->name, detail);
  napi_throw_range_error(env, NULL, msg);
}

/* Gets the arguments and the export row; exactly ex->argc arguments are required. */
static bool get_args(napi_env env, napi_callback_info info, napi_value *argv, const export_t **ex) {
  size_t argc = MAX_ARGS;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok || data == NULL) {
    napi_throw_error(env, NULL, "ridgeline native: napi_get_cb_info failed");
    return false;
  }
  *ex = (const export_t *)data;
  if (argc != (*ex)->argc) {
    char msg[160];
    snprintf(msg, sizeof msg, "ridgeline native %s: expected %zu arguments, got %zu", (*ex)->name, (*ex)->argc, argc);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  return true;
}

static bool arg_f32(napi_env env, const export_t *ex, napi_value *argv, size_t i, const char *what, float **out, size_t *len) {
  napi_typedarray_type type;
  size_t length, byte_offset;
  void *data;
  napi_value buffer;
  if (napi_get_typedarray_info(env, argv[i], &type, &length, &data, &buffer, &byte_offset) != napi_ok ||
      type != napi_float32_array) {
    throw_type(env, ex, "(%s) must be a Float32Array", what, i);
    return false;
  }
  (void)byte_offset; /* already applied to `data` by Node: see the header comment */
  *out = (float *)data;
  *len = length;
  return true;
}

static bool arg_i32(napi_env env, const export_t *ex, napi_value *argv, size_t i, const char *what, int32_t **out, size_t *len) {
  napi_typedarray_type type;
  size_t length, byte_offset;
  void *data;
  napi_value buffer;
  if (napi_get_typedarray_info(env, argv[i], &type, &length, &data, &buffer, &byte_offset) != napi_ok ||
      type != napi_int32_array) {
    throw_type(env, ex, "(%s) must be an Int32Array", what, i);
    return false;
  }
  *out = (int32_t *)data;
  *len = length;
  return true;
}

static bool arg_f64(napi_env env, const export_t *ex, napi_value *argv, size_t i, const char *what, double **out, size_t *len) {
  napi_typedarray_type type;
  size_t length, byte_offset;
  void *data;
  napi_value buffer;
  if (napi_get_typedarray_info(env, argv[i], &type, &length, &data, &buffer, &byte_offset) != napi_ok ||
      type != napi_float64_array) {
    throw_type(env, ex, "(%s) must be a Float64Array", what, i);
    return false;
  }
  *out = (double *)data;
  *len = length;
  return true;
}


static bool arg_bool(napi_env env, const export_t *ex, napi_value *argv, size_t i, const char *what, bool *out) {
  if (napi_get_value_bool(env, argv[i], out) != napi_ok) {
    throw_type(env, ex, "(%s) must be a boolean", what, i);
    return false;
  }
  return true;
}

static bool arg_num(napi_env env, const export_t *ex, napi_value *argv, size_t i, const char *what, double *out) {
  if (napi_get_value_double(env, argv[i], out) != napi_ok) {
    throw_type(env, ex, "(%s) must be a number", what, i);
    return false;
  }
  return true;
}

/* A size: an integer in [0, 2^31 − 1] (CBLAS takes int). */
static bool arg_size(napi_env env, const export_t *ex, napi_value *argv, size_t i, const char *what, int *out) {
  double d;
  if (!arg_num(env, ex, argv, i, what, &d)) return false;
  if (!(d >= 0 && d <= 2147483647.0 && d == floor(d))) {
    char msg[120];
    snprintf(msg, sizeof msg, "argument %zu (%s) must be an integer in [0, 2^31), got %g", i + 1, what, d);
    throw_range(env, ex, msg);
    return false;
  }
  *out = (int)d;
  return true;
}

/* The array `what` must hold at least `need` elements. */
static bool fits(napi_env env, const export_t *ex, const char *what, size_t len, int64_t need) {
  if ((uint64_t)need > (uint64_t)len) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s has %zu elements, the call needs %lld", what, len, (long long)need);
    throw_range(env, ex, msg);
    return false;
  }
  return true;
}

static napi_value number(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

/* ---------------------------------------------------------------------------------------- */
/* BLAS threads. OpenBLAS has one pool per process; `blas_threads` is the count set through
 * setThreads (what getThreads reports), `blas_active` the count OpenBLAS was last told.
 *
 * GEMMs under SMALL_GEMM_FLOPS run on one thread whatever the setting: waking the second
 * thread costs ~15-20 µs, more than it saves on small products. Measured on the 2-core CI
 * machine (OpenBLAS 0.3.21, Haswell kernels), µs at 1 → 2 threads: 128×10×256 (0.66 MFLOP)
 * 11.8 → 28.9; 128×32×256 (2.1 MFLOP) 23.9 → 31.1; 128×64×256 (4.2 MFLOP) 44.8 → 41.4;
 * 128×256×256 (16.8 MFLOP) 175 → 116. OpenBLAS's own cut-off (m·n·k ≤ 2^18, 0.5 MFLOP) is
 * lower, so without this the 10-class layer's three GEMMs ran 2-3× slower on two threads.
 * Switching costs nothing measurable (openblas_set_num_threads only stores the count once the
 * pool exists). The state is process-wide, like OpenBLAS's. */

#ifdef OPENBLAS_VERSION
#define HAVE_OPENBLAS 1
#else
#define HAVE_OPENBLAS 0
#endif

#define SMALL_GEMM_FLOPS 4e6

static int blas_threads = 0; /* 0 until the first module init reads OpenBLAS's own count */
static int blas_active = 0;

/* Our own loops (im2col, pooling, the per-channel kernels: memory-bound data movement that was
 * a third of the CNN step, all on one core) run on OpenMP threads, as many as the BLAS gets.
 * Each parallel loop splits independent outputs (planes, channels, rows of cols) into static
 * chunks, so every output is computed exactly as on one thread: results do not depend on the
 * thread count. A loop over fewer than PAR_MIN floats stays on the calling thread, where
 * waking a worker (a few µs) would cost more than it saves. Without OpenMP (-fopenmp missing)
 * the pragmas are ignored and everything runs on one thread. */
#ifdef _OPENMP
#include <omp.h>
#endif
static int par_threads = 1;
#define PAR_MIN 32768
/* Parameters this large are split over the threads in the optimizer pass and Σw² (as contiguous
 * runs, the rows a 2-thread weight-gradient GEMM wrote on each core); smaller ones stay on one
 * thread, where waking a worker would cost more than it saves. */
#define PARAM_SPLIT_MIN 65536

/* Where run t of `parts` contiguous runs over n floats starts, on a 16-float boundary (run
 * `parts` "starts" at n): the same halves for the optimizer pass and Σw². */
static int run_start(int n, int t, int parts) {
  return t == parts ? n : (int)((int64_t)n * t / parts / 16 * 16);
}
/* Before a loop: `par_work` (floats touched) decides whether it is split. */
#define PARALLEL_FOR _Pragma("omp parallel for schedule(static) num_threads(par_threads) if(par_work >= PAR_MIN)")

/* The system GEMM: the CBLAS on `threads` threads, or the portable one where there is no CBLAS.
 * False only when the portable GEMM's packing buffer cannot grow (C untouched). */
static bool use_threads(int n);
static bool system_sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                         float beta, float *c, int ldc, int threads) {
#ifdef RIDGELINE_NO_CBLAS
  return portable_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads);
#else
  use_threads(threads);
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  return true;
#endif
}

static bool use_threads(int n) {
#if HAVE_OPENBLAS
  if (n != blas_active) {
    openblas_set_num_threads(n);
    blas_active = n;
  }
#else
  (void)n;
#endif
  return true;
}

/* ---------------------------------------------------------------------------------------- */
/* Kernels. */

/* Long-K products: a convolution's weight gradient sums F × C·k² outputs over batch·positions
 * (thousands to 100k terms). OpenBLAS threads a GEMM by splitting M and N only, which these
 * shapes barely have: measured at 1 → 2 threads (OpenBLAS 0.3.21, 2 cores), 128×577×6272
 * 10.5 → 10.3 ms and 32×10×100352 1.9 → 3.0 ms. For them we split K instead: SPLIT_K slices,
 * each a one-thread GEMM on its own core into its own partial product, then the partials are
 * added in slice order. Always SPLIT_K slices whatever the thread count (one thread runs them
 * in turn). Like every OpenBLAS GEMM, results are reproducible for a given thread count but
 * may differ in the last bits between counts: OpenBLAS's own partitions change which
 * micro-kernel handles the edges (measured: 4838 of 128×256 outputs of 128×784·784×256). */
#define SPLIT_K 2
#define SPLIT_K_MIN_FLOPS 16e6

static bool long_k(int m, int n, int k) {
  return (int64_t)k >= 8 * (int64_t)(m > n ? m : n) && 2.0 * m * n * k >= SPLIT_K_MIN_FLOPS;
}

/* The partial products of slices 1 … SPLIT_K − 1: grown to the largest m·n seen, kept (one
 * buffer per JS thread that calls in), so the training loop does not allocate. */
static _Thread_local float *split_scratch = NULL;
static _Thread_local size_t split_scratch_len = 0;

/* C = α·op(A)·op(B) + β·C by K slices; false (nothing done) when the scratch cannot grow. */
static bool gemm_split_k(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, const float *b,
                         float beta, float *c) {
  const int64_t mn = (int64_t)m * n;
  const size_t need = (size_t)mn * (SPLIT_K - 1);
  if (need > split_scratch_len) {
    float *grown = realloc(split_scratch, need * sizeof(float));
    if (!grown) return false;
    split_scratch = grown;
    split_scratch_len = need;
  }
  float *part = split_scratch;
  bool ok = true; /* always, with a CBLAS: only the portable GEMM can fail, and it never runs here */
  _Pragma("omp parallel for schedule(static) num_threads(par_threads) reduction(&&: ok)")
  for (int sl = 0; sl < SPLIT_K; sl++) {
    const int k0 = (int)((int64_t)k * sl / SPLIT_K), k1 = (int)((int64_t)k * (sl + 1) / SPLIT_K);
    /* Slice [k0, k1) of K: columns of A (rows when transposed), rows of B (columns when transposed). */
    const float *as = ta ? a + (int64_t)k0 * m : a + k0;
    const float *bs = tb ? b + k0 : b + (int64_t)k0 * n;
    float *cs = sl == 0 ? c : part + (sl - 1) * mn;
    /* Each slice is one thread's GEMM. */
    ok = system_sgemm(ta, tb, m, n, k1 - k0, alpha, as, ta ? m : k, bs, tb ? k : n, sl == 0 ? beta : 0.0f, cs, n, 1) && ok;
  }
  if (!ok) return false;
  for (int sl = 1; sl < SPLIT_K; sl++) {
    const float *q = part + (sl - 1) * mn;
    for (int64_t i = 0; i < mn; i++) c[i] += q[i];
  }
  return true;
}

/* Which GEMM runs: our own (gemm.c) where the CPU has AVX-512, chosen when the module first
 * loads, else the system's (the CBLAS, or the portable one in a build without a CBLAS);
 * setGemmKind switches (the bench compares them, tests check each). Process-wide, like the
 * thread count. */
enum { GEMM_SYSTEM = 0, GEMM_OWN = 1, GEMM_PORTABLE = 2 };
static int gemm_kind = GEMM_SYSTEM;

/* C ← α·op(A)·op(B) + β·C, row-major; β = 0 never reads C. */
static napi_value gemm(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  bool ta, tb;
  int m, n, k;
  double alpha, beta;
  float *a, *b, *c;
  size_t la, lb, lc;
  if (!get_args(env, info, argv, &ex) ||
      !arg_bool(env, ex, argv, 0, "transA", &ta) || !arg_bool(env, ex, argv, 1, "transB", &tb) ||
      !arg_size(env, ex, argv, 2, "m", &m) || !arg_size(env, ex, argv, 3, "n", &n) ||
      !arg_size(env, ex, argv, 4, "k", &k) || !arg_num(env, ex, argv, 5, "alpha", &alpha) ||
      !arg_f32(env, ex, argv, 6, "a", &a, &la) || !arg_f32(env, ex, argv, 7, "b", &b, &lb) ||
      !arg_num(env, ex, argv, 8, "beta", &beta) || !arg_f32(env, ex, argv, 9, "c", &c, &lc) ||
      !fits(env, ex, "a", la, (int64_t)m * k) || !fits(env, ex, "b", lb, (int64_t)k * n) ||
      !fits(env, ex, "c", lc, (int64_t)m * n))
    return NULL;
  if (m == 0 || n == 0) return NULL;
  if (k == 0 || alpha == 0) {
    /* No product to add: C ← β·C, done here so BLAS never sees a zero leading dimension. */
    const size_t mn = (size_t)m * n;
    const float fb = (float)beta;
    if (beta == 0) memset(c, 0, mn * sizeof(float));
    else if (beta != 1) for (size_t i = 0; i < mn; i++) c[i] *= fb;
    return NULL;
  }
  const int lda = ta ? m : k, ldb = tb ? k : n; /* row-major: A is m×k (k×m transposed), B k×n (n×k) */
  const bool small = 2.0 * m * n * k < SMALL_GEMM_FLOPS;
  if (gemm_kind == GEMM_OWN && own_sgemm(ta, tb, m, n, k, (float)alpha, a, lda, b, ldb, (float)beta, c, n, small ? 1 : par_threads))
    return NULL;
  if (gemm_kind == GEMM_PORTABLE) {
    if (!portable_sgemm(ta, tb, m, n, k, (float)alpha, a, lda, b, ldb, (float)beta, c, n, small ? 1 : par_threads))
      napi_throw_error(env, NULL, "gemm: out of memory for the packing buffer");
    return NULL;
  }
#ifndef RIDGELINE_NO_CBLAS
  /* (The portable GEMM splits rows of C over the threads itself; slices of K would only add a pass.) */
  if (long_k(m, n, k) && gemm_split_k(ta, tb, m, n, k, (float)alpha, a, b, (float)beta, c)) return NULL;
#endif
  if (!system_sgemm(ta, tb, m, n, k, (float)alpha, a, lda, b, ldb, (float)beta, c, n, small ? 1 : blas_threads))
    napi_throw_error(env, NULL, "gemm: out of memory for the packing buffer");
  return NULL;
}

/* y[r, j] += bias[j]. */
static napi_value add_row_vector(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  float *y, *bias;
  size_t ly, lbias;
  int rows, cols;
  if (!get_args(env, info, argv, &ex) || !arg_f32(env, ex, argv, 0, "y", &y, &ly) ||
      !arg_f32(env, ex, argv, 1, "bias", &bias, &lbias) || !arg_size(env, ex, argv, 2, "rows", &rows) ||
      !arg_size(env, ex, argv, 3, "cols", &cols) || !fits(env, ex, "y", ly, (int64_t)rows * cols) ||
      !fits(env, ex, "bias", lbias, cols))
    return NULL;
  for (int r = 0; r < rows; r++) {
    float *row = y + (size_t)r * cols;
    for (int j = 0; j < cols; j++) row[j] += bias[j];
  }
  return NULL;
}

/* out[j] += Σ_r x[r, j], summed in float64 row by row (the reference's order), rounded once. */
static napi_value sum_rows_into(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  float *x, *out;
  size_t lx, lout;
  int rows, cols;
  if (!get_args(env, info, argv, &ex) || !arg_f32(env, ex, argv, 0, "x", &x, &lx) ||
      !arg_size(env, ex, argv, 1, "rows", &rows) || !arg_size(env, ex, argv, 2, "cols", &cols) ||
      !arg_f32(env, ex, argv, 3, "out", &out, &lout) || !fits(env, ex, "x", lx, (int64_t)rows * cols) ||
      !fits(env, ex, "out", lout, cols))
    return NULL;
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

/* The elementwise kernels share one shape: (p, q[, r], n) with every array at least n long. */
#define UNARY(cname, first, second, body)                                                        \
  static napi_value cname(napi_env env, napi_callback_info info) {                               \
    napi_value argv[MAX_ARGS];                                                                   \
    const export_t *ex;                                                                          \
    float *p, *q;                                                                                \
    size_t lp, lq;                                                                               \
    int n;                                                                                       \
    if (!get_args(env, info, argv, &ex) || !arg_f32(env, ex, argv, 0, first, &p, &lp) ||         \
        !arg_f32(env, ex, argv, 1, second, &q, &lq) || !arg_size(env, ex, argv, 2, "n", &n) ||   \
        !fits(env, ex, first, lp, n) || !fits(env, ex, second, lq, n))                           \
      return NULL;                                                                               \
    for (int i = 0; i < n; i++) { body; }                                                        \
    return NULL;                                                                                 \
  }

#define BINARY(cname, first, second, third, body)                                                \
  static napi_value cname(napi_env env, napi_callback_info info) {                               \
    napi_value argv[MAX_ARGS];                                                                   \
    const export_t *ex;                                                                          \
    float *p, *q, *o;                                                                            \
    size_t lp, lq, lo;                                                                           \
    int n;                                                                                       \
    if (!get_args(env, info, argv, &ex) || !arg_f32(env, ex, argv, 0, first, &p, &lp) ||         \
        !arg_f32(env, ex, argv, 1, second, &q, &lq) || !arg_f32(env, ex, argv, 2, third, &o, &lo) || \
        !arg_size(env, ex, argv, 3, "n", &n) || !fits(env, ex, first, lp, n) ||                  \
        !fits(env, ex, second, lq, n) || !fits(env, ex, third, lo, n))                           \
      return NULL;                                                                               \
    for (int i = 0; i < n; i++) { body; }                                                        \
    return NULL;                                                                                 \
  }

#define INV_SQRT_2PI 0.3989422804014327f
#define SQRT1_2 0.7071067811865476f

/* Φ(x) = erfc(−x/√2)/2: erfc keeps relative accuracy in the far negative tail. */
static inline float normal_cdf(float x) { return 0.5f * erfcf(-x * SQRT1_2); }

/* y = max(x, 0) (NaN → 0, as the reference's `x > 0 ? x : 0`). */
UNARY(relu, "x", "y", q[i] = p[i] > 0 ? p[i] : 0)
/* y = tanh(x). */
UNARY(tanh_fwd, "x", "y", q[i] = tanhf(p[i]))
/* y = x·Φ(x), the exact (erf) GELU. */
UNARY(gelu, "x", "y", q[i] = p[i] * normal_cdf(p[i]))
/* dx = dy where y > 0 (dy is loaded unconditionally so the loop vectorizes). */
BINARY(relu_backward, "y", "dy", "dx", const float d = q[i]; o[i] = p[i] > 0 ? d : 0)
/* dx = dy·(1 − y²), in float64 and rounded once, as the reference. */
BINARY(tanh_backward, "y", "dy", "dx", o[i] = (float)((double)q[i] * (1.0 - (double)p[i] * (double)p[i])))
/* dx = dy·(Φ(x) + x·φ(x)). */
BINARY(gelu_backward, "x", "dy", "dx",
       const float v = p[i]; o[i] = q[i] * (normal_cdf(v) + v * expf(-0.5f * v * v) * INV_SQRT_2PI))
/* out = a ⊙ b. */
BINARY(mul, "a", "b", "out", o[i] = p[i] * q[i])

/* dlogits = scale·(softmax − onehot); returns Σ_rows CE. Per row in float64, as the reference
 * (cols is the class count, so this is never the hot part of a step). Labels are checked first,
 * so a bad label throws before anything is written. */
static napi_value softmax_cross_entropy(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  float *logits, *dlogits;
  int32_t *labels;
  size_t llog, llab, ld;
  int rows, cols;
  double scale;
  if (!get_args(env, info, argv, &ex) || !arg_f32(env, ex, argv, 0, "logits", &logits, &llog) ||
      !arg_i32(env, ex, argv, 1, "labels", &labels, &llab) || !arg_size(env, ex, argv, 2, "rows", &rows) ||
      !arg_size(env, ex, argv, 3, "cols", &cols) || !arg_f32(env, ex, argv, 4, "dlogits", &dlogits, &ld) ||
      !arg_num(env, ex, argv, 5, "scale", &scale) || !fits(env, ex, "logits", llog, (int64_t)rows * cols) ||
      !fits(env, ex, "labels", llab, rows) || !fits(env, ex, "dlogits", ld, (int64_t)rows * cols))
    return NULL;
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
static napi_value sum_squares(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  float *x;
  size_t lx;
  int n;
  if (!get_args(env, info, argv, &ex) || !arg_f32(env, ex, argv, 0, "x", &x, &lx) ||
      !arg_size(env, ex, argv, 1, "n", &n) || !fits(env, ex, "x", lx, n))
    return NULL;
  if (n < PARAM_SPLIT_MIN) return number(env, sum_squares_run(x, 0, n));
  const int half = run_start(n, 1, 2);
  if (par_threads == 1) return number(env, sum_squares_run(x, 0, half) + sum_squares_run(x, half, n));
  double part[2];
  _Pragma("omp parallel for schedule(static) num_threads(2)")
  for (int t = 0; t < 2; t++) part[t] = t == 0 ? sum_squares_run(x, 0, half) : sum_squares_run(x, half, n);
  return number(env, part[0] + part[1]);
}

/* ---------------------------------------------------------------------------------------- */
/* Convolution, pooling and per-channel kernels (NCHW). The reference is
 * src/kernels/js/spatial.ts; each kernel below says how it relates to it (bit-identical where
 * it keeps the reference's order of operations, else within float64 summation-order noise).
 * Loops run over output columns innermost, so rows are contiguous and the compiler vectorizes
 * them; positions that would read the zero padding or leave the plane are computed once per
 * kernel tap (valid_range), never tested per element. */

/* a·b for a, b ≥ 0, saturating at INT64_MAX (then `fits` rejects the call). */
static int64_t mul_sat(int64_t a, int64_t b) {
  if (a != 0 && b > INT64_MAX / a) return INT64_MAX;
  return a * b;
}

/* floor(a / b) for b > 0 (C's `/` truncates toward zero). */
static int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* The output positions o ∈ [0, n_out) whose input position o·stride + offset lies in
 * [0, n_in): the half-open range [*lo, *hi) (empty: *lo == *hi). */
static void valid_range(int64_t n_out, int64_t stride, int64_t offset, int64_t n_in, int64_t *lo, int64_t *hi) {
  int64_t l = offset >= 0 ? 0 : (-offset + stride - 1) / stride; /* ceil(−offset / stride) */
  int64_t h = n_in - offset <= 0 ? 0 : (n_in - offset + stride - 1) / stride;
  if (l > n_out) l = n_out;
  if (h > n_out) h = n_out;
  if (h < l) h = l;
  *lo = l;
  *hi = h;
}

/* Checks one axis: kernel ≥ 1, stride ≥ 1, out == floor((in + 2·pad − kernel)/stride) + 1. */
static bool check_axis(napi_env env, const export_t *ex, const char *axis, int64_t in, int64_t pad,
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

/* ConvGeometry as 8 numbers from argv[first]: channels, height, width, kernel, stride, padding,
 * outHeight, outWidth. */
typedef struct { int64_t C, H, W, k, s, p, OH, OW; } conv_t;

static bool arg_conv(napi_env env, const export_t *ex, napi_value *argv, size_t first, conv_t *g) {
  int v[8];
  static const char *names[8] = {"channels", "height", "width", "kernel", "stride", "padding", "outHeight", "outWidth"};
  for (size_t i = 0; i < 8; i++)
    if (!arg_size(env, ex, argv, first + i, names[i], &v[i])) return false;
  *g = (conv_t){v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
  return check_axis(env, ex, "Height", g->H, g->p, g->k, g->s, g->OH) &&
         check_axis(env, ex, "Width", g->W, g->p, g->k, g->s, g->OW);
}

/* PoolGeometry as 7 numbers from argv[first]: height, width, kernelHeight, kernelWidth, stride,
 * outHeight, outWidth. Planes over 2^31 − 1 pixels are refused: argmax is an Int32Array. */
typedef struct { int64_t H, W, kh, kw, s, OH, OW; } pool_t;

static bool arg_pool(napi_env env, const export_t *ex, napi_value *argv, size_t first, pool_t *g) {
  int v[7];
  static const char *names[7] = {"height", "width", "kernelHeight", "kernelWidth", "stride", "outHeight", "outWidth"};
  for (size_t i = 0; i < 7; i++)
    if (!arg_size(env, ex, argv, first + i, names[i], &v[i])) return false;
  *g = (pool_t){v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
  if (!check_axis(env, ex, "Height", g->H, 0, g->kh, g->s, g->OH) ||
      !check_axis(env, ex, "Width", g->W, 0, g->kw, g->s, g->OW))
    return false;
  if (g->H * g->W > INT32_MAX) {
    throw_range(env, ex, "a plane of more than 2^31 - 1 pixels does not fit an Int32Array argmax");
    return false;
  }
  return true;
}

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
INLINE_LOOPS static napi_value im2col(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  float *x, *cols;
  size_t lx, lc;
  int batch;
  conv_t g;
  if (!get_args(env, info, argv, &ex) || !arg_f32(env, ex, argv, 0, "x", &x, &lx) ||
      !arg_size(env, ex, argv, 1, "batch", &batch) || !arg_conv(env, ex, argv, 2, &g) ||
      !arg_f32(env, ex, argv, 10, "cols", &cols, &lc) ||
      !fits(env, ex, "x", lx, mul_sat(mul_sat(batch, g.C), mul_sat(g.H, g.W))) ||
      !fits(env, ex, "cols", lc, mul_sat(mul_sat(mul_sat(g.C, g.k), g.k), mul_sat(batch, mul_sat(g.OH, g.OW)))))
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
static napi_value col2im(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  float *cols, *dx;
  size_t lc, lx;
  int batch;
  conv_t g;
  if (!get_args(env, info, argv, &ex) || !arg_f32(env, ex, argv, 0, "cols", &cols, &lc) ||
      !arg_size(env, ex, argv, 1, "batch", &batch) || !arg_conv(env, ex, argv, 2, &g) ||
      !arg_f32(env, ex, argv, 10, "dx", &dx, &lx) ||
      !fits(env, ex, "cols", lc, mul_sat(mul_sat(mul_sat(g.C, g.k), g.k), mul_sat(batch, mul_sat(g.OH, g.OW)))) ||
      !fits(env, ex, "dx", lx, mul_sat(mul_sat(batch, g.C), mul_sat(g.H, g.W))))
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
static napi_value swap_axes01(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  float *x, *out;
  size_t lx, lo;
  int d0, d1, inner;
  if (!get_args(env, info, argv, &ex) || !arg_f32(env, ex, argv, 0, "x", &x, &lx) ||
      !arg_size(env, ex, argv, 1, "d0", &d0) || !arg_size(env, ex, argv, 2, "d1", &d1) ||
      !arg_size(env, ex, argv, 3, "inner", &inner) || !arg_f32(env, ex, argv, 4, "out", &out, &lo))
    return NULL;
  const int64_t n = mul_sat(mul_sat(d0, d1), inner);
  if (!fits(env, ex, "x", lx, n) || !fits(env, ex, "out", lo, n)) return NULL;
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

/* Shared argument parsing of the pooling kernels: planes, geometry. */
#define POOL_SIZES(planes_at, g) \
  (arg_size(env, ex, argv, planes_at, "planes", &planes) && arg_pool(env, ex, argv, (planes_at) + 1, g))

/* Max over each window; argmax = the winner's index within its plane. The first maximum in
 * row-major window order wins (later pixels replace it only when strictly greater), and any
 * NaN replaces it (`v > cur || v != v`, PyTorch's CPU rule), so the last NaN of a window wins
 * and a NaN is never hidden, exactly as the reference. Generic windows: y's row starts as each window's first pixel and every
 * further tap (i, j), in row-major order, updates the whole row with branch-free selects
 * (vectorized over ow). 2×2 windows at stride 2 take all four pixels per output at once.
 * Bit-identical, argmax included. */
static napi_value max_pool(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  float *x, *y;
  int32_t *argmax;
  size_t lx, ly, la;
  int planes;
  pool_t g;
  if (!get_args(env, info, argv, &ex) || !arg_f32(env, ex, argv, 0, "x", &x, &lx) || !POOL_SIZES(1, &g) ||
      !arg_f32(env, ex, argv, 9, "y", &y, &ly) || !arg_i32(env, ex, argv, 10, "argmax", &argmax, &la) ||
      !fits(env, ex, "x", lx, mul_sat(planes, mul_sat(g.H, g.W))) ||
      !fits(env, ex, "y", ly, mul_sat(planes, mul_sat(g.OH, g.OW))) ||
      !fits(env, ex, "argmax", la, mul_sat(planes, mul_sat(g.OH, g.OW))))
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
static napi_value max_pool_backward(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  float *dy, *dx;
  int32_t *argmax;
  size_t ldy, la, ldx;
  int planes;
  pool_t g;
  if (!get_args(env, info, argv, &ex) || !arg_f32(env, ex, argv, 0, "dy", &dy, &ldy) ||
      !arg_i32(env, ex, argv, 1, "argmax", &argmax, &la) || !POOL_SIZES(2, &g) ||
      !arg_f32(env, ex, argv, 10, "dx", &dx, &ldx) ||
      !fits(env, ex, "dy", ldy, mul_sat(planes, mul_sat(g.OH, g.OW))) ||
      !fits(env, ex, "argmax", la, mul_sat(planes, mul_sat(g.OH, g.OW))) ||
      !fits(env, ex, "dx", ldx, mul_sat(planes, mul_sat(g.H, g.W))))
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
static napi_value avg_pool(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  float *x, *y;
  size_t lx, ly;
  int planes;
  pool_t g;
  if (!get_args(env, info, argv, &ex) || !arg_f32(env, ex, argv, 0, "x", &x, &lx) || !POOL_SIZES(1, &g) ||
      !arg_f32(env, ex, argv, 9, "y", &y, &ly) ||
      !fits(env, ex, "x", lx, mul_sat(planes, mul_sat(g.H, g.W))) ||
      !fits(env, ex, "y", ly, mul_sat(planes, mul_sat(g.OH, g.OW))))
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
static napi_value avg_pool_backward(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  float *dy, *dx;
  size_t ldy, ldx;
  int planes;
  pool_t g;
  if (!get_args(env, info, argv, &ex) || !arg_f32(env, ex, argv, 0, "dy", &dy, &ldy) || !POOL_SIZES(1, &g) ||
      !arg_f32(env, ex, argv, 9, "dx", &dx, &ldx) ||
      !fits(env, ex, "dy", ldy, mul_sat(planes, mul_sat(g.OH, g.OW))) ||
      !fits(env, ex, "dx", ldx, mul_sat(planes, mul_sat(g.H, g.W))))
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

/* Shared argument parsing of the per-channel kernels: x[n, c, s] and per-channel vectors. */
#define CHANNEL_SIZES(at) \
  (arg_size(env, ex, argv, at, "n", &n) && arg_size(env, ex, argv, (at) + 1, "c", &c) && \
   arg_size(env, ex, argv, (at) + 2, "s", &s))
#define NCS mul_sat(mul_sat(n, c), s)

/* mean[c] and biased variance[c] over the n·s values of each channel: float64, two passes
 * (mean, then Σ(x − mean)²), rounded once on store. With s > 1 each contiguous run of s values
 * is summed with `omp simd` lanes (a different order from the reference: within float64
 * rounding, ~1e-16 relative); with s == 1 (x is [n, c]) a block of channels accumulates row by
 * row in the reference's order. */
static napi_value channel_moments(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  float *x, *mean, *var;
  size_t lx, lm, lv;
  int n, c, s;
  if (!get_args(env, info, argv, &ex) || !arg_f32(env, ex, argv, 0, "x", &x, &lx) || !CHANNEL_SIZES(1) ||
      !arg_f32(env, ex, argv, 4, "mean", &mean, &lm) || !arg_f32(env, ex, argv, 5, "variance", &var, &lv) ||
      !fits(env, ex, "x", lx, NCS) || !fits(env, ex, "mean", lm, c) || !fits(env, ex, "variance", lv, c))
    return NULL;
  const double count = (double)n * (double)s;
  if (s == 1) {
    enum { BLOCK = 256 };
    double sum[BLOCK], sq[BLOCK];
    for (int64_t c0 = 0; c0 < c; c0 += BLOCK) {
      const int64_t w = c - c0 < BLOCK ? c - c0 : BLOCK;
      for (int64_t t = 0; t < w; t++) sum[t] = sq[t] = 0;
      for (int64_t b = 0; b < n; b++) {
        const float *r = x + b * (int64_t)c + c0;
        for (int64_t t = 0; t < w; t++) sum[t] += r[t];
      }
      for (int64_t t = 0; t < w; t++) sum[t] /= count;
      for (int64_t b = 0; b < n; b++) {
        const float *r = x + b * (int64_t)c + c0;
        for (int64_t t = 0; t < w; t++) {
          const double d = (double)r[t] - sum[t];
          sq[t] += d * d;
        }
      }
      for (int64_t t = 0; t < w; t++) {
        mean[c0 + t] = (float)sum[t];
        var[c0 + t] = (float)(sq[t] / count);
      }
    }
    return NULL;
  }
  const int64_t par_work = NCS;
  PARALLEL_FOR
  for (int64_t ch = 0; ch < c; ch++) {
    double sum = 0;
    for (int64_t b = 0; b < n; b++) {
      const float *r = x + (b * c + ch) * s;
#pragma omp simd reduction(+ : sum)
      for (int64_t t = 0; t < s; t++) sum += r[t];
    }
    const double mu = sum / count;
    double sq = 0;
    for (int64_t b = 0; b < n; b++) {
      const float *r = x + (b * c + ch) * s;
#pragma omp simd reduction(+ : sq)
      for (int64_t t = 0; t < s; t++) {
        const double d = (double)r[t] - mu;
        sq += d * d;
      }
    }
    mean[ch] = (float)mu;
    var[ch] = (float)(sq / count);
  }
  return NULL;
}

/* The fused ReLU of channel_affine, and the mask of channel_sums/channel_combine: the
 * reference's `!(v > 0) ? 0 : v` (NaN → 0, −0 → +0). Written so GCC if-converts and
 * vectorizes them (20× faster than the branches it emits otherwise, measured): RELU compares
 * the float after rounding, which gives the same result as clamping the double before it;
 * MASKED clears v's bits unless m > 0 (GCC leaves every form of select there as a branch). */
#define RELU(f) ((f) > 0 ? (f) : 0.0f)
static inline float MASKED(float m, float v) {
  union { float f; uint32_t u; } r = {v};
  r.u &= -(uint32_t)(m > 0);
  return r.f;
}

/* y = scale[c]·x + shift[c] (then max(·, 0) when relu), in float64 and rounded once, as the
 * reference (scale·x is exact in float64): bit-identical. y may be x (then one pointer is
 * used, so the loop still vectorizes). */
static napi_value channel_affine(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  float *x, *scale, *shift, *y;
  size_t lx, lsc, lsh, ly;
  int n, c, s;
  bool relu;
  if (!get_args(env, info, argv, &ex) || !arg_f32(env, ex, argv, 0, "x", &x, &lx) || !CHANNEL_SIZES(1) ||
      !arg_f32(env, ex, argv, 4, "scale", &scale, &lsc) || !arg_f32(env, ex, argv, 5, "shift", &shift, &lsh) ||
      !arg_f32(env, ex, argv, 6, "y", &y, &ly) || !arg_bool(env, ex, argv, 7, "relu", &relu) ||
      !fits(env, ex, "x", lx, NCS) || !fits(env, ex, "scale", lsc, c) || !fits(env, ex, "shift", lsh, c) ||
      !fits(env, ex, "y", ly, NCS))
    return NULL;
  if (s == 1) {
    for (int64_t b = 0; b < n; b++) {
      const float *xr = x + b * (int64_t)c;
      float *yr = y + b * (int64_t)c;
      for (int64_t ch = 0; ch < c; ch++) {
        const float v = (float)((double)scale[ch] * xr[ch] + shift[ch]);
        yr[ch] = relu ? RELU(v) : v;
      }
    }
    return NULL;
  }
  const int64_t par_work = NCS;
  PARALLEL_FOR
  for (int64_t bc = 0; bc < (int64_t)n * c; bc++) {
    const int64_t ch = bc % c;
    const double a = scale[ch], k = shift[ch];
    const int64_t o = bc * s;
    if (x == y) {
      float *restrict r = y + o;
      if (relu)
        for (int64_t t = 0; t < s; t++) {
          const float v = (float)(a * r[t] + k);
          r[t] = RELU(v);
        }
      else
        for (int64_t t = 0; t < s; t++) r[t] = (float)(a * r[t] + k);
    } else {
      const float *restrict xr = x + o;
      float *restrict yr = y + o;
      if (relu)
        for (int64_t t = 0; t < s; t++) {
          const float v = (float)(a * xr[t] + k);
          yr[t] = RELU(v);
        }
      else
        for (int64_t t = 0; t < s; t++) yr[t] = (float)(a * xr[t] + k);
    }
  }
  return NULL;
}

/* The optional mask of channel_sums and channel_combine: empty (no ReLU fused) or n·c·s long. */
static bool arg_mask(napi_env env, const export_t *ex, napi_value *argv, size_t i, int64_t ncs, float **mask, size_t *len) {
  return arg_f32(env, ex, argv, i, "mask", mask, len) && (*len == 0 || fits(env, ex, "mask", *len, ncs));
}

/* With a' = a where mask > 0 and 0 elsewhere (a' = a when mask is empty): sumA[c] += Σ a',
 * sumAB[c] += Σ a'·(b − center[c]) over the n·s values of channel c, in float64 (b − center
 * and a'·(b − center) are exact or rounded once there, as in the reference), each output
 * rounded once. Summation order: as channel_moments (s == 1: the reference's, bit-identical;
 * s > 1: simd lanes, within float64 rounding). a and b may be the same array. */
static napi_value channel_sums(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  float *a, *b, *center, *mask, *sa, *sab;
  size_t la, lb, lce, lm, lsa, lsab;
  int n, c, s;
  if (!get_args(env, info, argv, &ex) || !arg_f32(env, ex, argv, 0, "a", &a, &la) ||
      !arg_f32(env, ex, argv, 1, "b", &b, &lb) || !CHANNEL_SIZES(2) ||
      !arg_f32(env, ex, argv, 5, "center", &center, &lce) || !arg_mask(env, ex, argv, 6, NCS, &mask, &lm) ||
      !arg_f32(env, ex, argv, 7, "sumA", &sa, &lsa) || !arg_f32(env, ex, argv, 8, "sumAB", &sab, &lsab) ||
      !fits(env, ex, "a", la, NCS) || !fits(env, ex, "b", lb, NCS) || !fits(env, ex, "center", lce, c) ||
      !fits(env, ex, "sumA", lsa, c) || !fits(env, ex, "sumAB", lsab, c))
    return NULL;
  const bool masked = lm > 0;
  if (s == 1) {
    enum { BLOCK = 256 };
    double accA[BLOCK], accAB[BLOCK];
    for (int64_t c0 = 0; c0 < c; c0 += BLOCK) {
      const int64_t w = c - c0 < BLOCK ? c - c0 : BLOCK;
      for (int64_t t = 0; t < w; t++) accA[t] = accAB[t] = 0;
      for (int64_t r = 0; r < n; r++) {
        const int64_t off = r * (int64_t)c + c0;
        const float *ar = a + off, *br = b + off, *mr = masked ? mask + off : NULL;
        for (int64_t t = 0; t < w; t++) {
          const float af = ar[t];
          const double v = masked ? MASKED(mr[t], af) : af;
          accA[t] += v;
          accAB[t] += v * ((double)br[t] - center[c0 + t]);
        }
      }
      for (int64_t t = 0; t < w; t++) {
        sa[c0 + t] = (float)((double)sa[c0 + t] + accA[t]);
        sab[c0 + t] = (float)((double)sab[c0 + t] + accAB[t]);
      }
    }
    return NULL;
  }
  const int64_t par_work = NCS;
  PARALLEL_FOR
  for (int64_t ch = 0; ch < c; ch++) {
    double accA = 0, accAB = 0;
    const double mid = center[ch];
    for (int64_t r = 0; r < n; r++) {
      const int64_t off = (r * c + ch) * s;
      const float *ar = a + off, *br = b + off;
      if (masked) {
        const float *mr = mask + off;
#pragma omp simd reduction(+ : accA, accAB)
        for (int64_t t = 0; t < s; t++) {
          const float af = ar[t];
          const double v = MASKED(mr[t], af);
          accA += v;
          accAB += v * ((double)br[t] - mid);
        }
      } else {
#pragma omp simd reduction(+ : accA, accAB)
        for (int64_t t = 0; t < s; t++) {
          accA += ar[t];
          accAB += (double)ar[t] * ((double)br[t] - mid);
        }
      }
    }
    sa[ch] = (float)((double)sa[ch] + accA);
    sab[ch] = (float)((double)sab[ch] + accAB);
  }
  return NULL;
}

/* out = α[c]·a' + β[c]·b + γ[c], a' as in channel_sums, in float64 in the reference's order,
 * rounded once: bit-identical. out may be a or b (elementwise, same index). */
static napi_value channel_combine(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  float *a, *b, *al, *be, *ga, *mask, *out;
  size_t la, lb, lal, lbe, lga, lm, lo;
  int n, c, s;
  if (!get_args(env, info, argv, &ex) || !arg_f32(env, ex, argv, 0, "a", &a, &la) ||
      !arg_f32(env, ex, argv, 1, "b", &b, &lb) || !CHANNEL_SIZES(2) ||
      !arg_f32(env, ex, argv, 5, "alpha", &al, &lal) || !arg_f32(env, ex, argv, 6, "beta", &be, &lbe) ||
      !arg_f32(env, ex, argv, 7, "gamma", &ga, &lga) || !arg_mask(env, ex, argv, 8, NCS, &mask, &lm) ||
      !arg_f32(env, ex, argv, 9, "out", &out, &lo) ||
      !fits(env, ex, "a", la, NCS) || !fits(env, ex, "b", lb, NCS) || !fits(env, ex, "alpha", lal, c) ||
      !fits(env, ex, "beta", lbe, c) || !fits(env, ex, "gamma", lga, c) || !fits(env, ex, "out", lo, NCS))
    return NULL;
  const bool masked = lm > 0;
  if (s == 1) {
    for (int64_t r = 0; r < n; r++) {
      const int64_t off = r * (int64_t)c;
      const float *ar = a + off, *br = b + off, *mr = masked ? mask + off : NULL;
      float *o = out + off;
      for (int64_t ch = 0; ch < c; ch++) {
        const float af = ar[ch];
        const double v = masked ? MASKED(mr[ch], af) : af;
        o[ch] = (float)((double)al[ch] * v + (double)be[ch] * br[ch] + ga[ch]);
      }
    }
    return NULL;
  }
  const int64_t par_work = NCS;
  PARALLEL_FOR
  for (int64_t bc = 0; bc < (int64_t)n * c; bc++) {
    const int64_t ch = bc % c;
    const double p = al[ch], q = be[ch], k = ga[ch];
    const int64_t off = bc * s;
    const float *ar = a + off, *br = b + off;
    float *o = out + off;
    if (masked) {
      const float *mr = mask + off;
      for (int64_t t = 0; t < s; t++) {
        const float af = ar[t];
        const double v = MASKED(mr[t], af);
        o[t] = (float)(p * v + q * br[t] + k);
      }
    } else {
      for (int64_t t = 0; t < s; t++) o[t] = (float)(p * ar[t] + q * br[t] + k);
    }
  }
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* The fused optimizer step (Backend.optimizerStep; the op vocabulary and its arithmetic
 * contract are in src/kernels/optimizer-ops.ts, the reference in src/kernels/js/optimizer-step.ts).
 *
 * Each op computes in double from the floats it reads and rounds to float where it stores,
 * in the reference's order (with -ffp-contract=off, no FMA), so the result is bit-identical to
 * the TypeScript transforms. A double product or sum of floats then rounded once equals what
 * JavaScript computes; that is the whole point of doing it in double, not speed.
 *
 * One pass: the parameter is walked in blocks of OPT_BLOCK elements, and every op of the
 * program runs over the block while it sits in L1 (u, w and up to two state buffers: 8 KiB),
 * then w += u. Each op is a simple loop the compiler vectorizes, instead of a per-element
 * switch over the program. */

#define OP_SLOTS 8
#define OP_ADD_SCALED_WEIGHTS 1
#define OP_SCALE 2
#define OP_MOMENTUM 3
#define OP_ADAM 4
#define OPT_MAX_OPS 32
#define OPT_MAX_STATE 32
#define OPT_BLOCK 512

/* The loops below are independent per element (the arrays never overlap: checked per call),
 * which `restrict` alone does not always convey once they are inlined into the block loop. */
#define OPT_SIMD _Pragma("omp simd")

static void op_add_scaled_weights(float *restrict u, const float *restrict w, int n, double c) {
  OPT_SIMD
  for (int i = 0; i < n; i++) u[i] = (float)((double)u[i] + c * (double)w[i]);
}

static void op_scale(float *restrict u, int n, double s) {
  OPT_SIMD
  for (int i = 0; i < n; i++) u[i] = (float)((double)u[i] * s);
}

static void op_momentum(float *restrict u, float *restrict b, int n, double mu, double keep, bool nesterov, bool first) {
  if (first) memcpy(b, u, (size_t)n * sizeof(float));
  else {
    OPT_SIMD
    for (int i = 0; i < n; i++) b[i] = (float)(mu * (double)b[i] + keep * (double)u[i]);
  }
  if (nesterov) {
    OPT_SIMD
    for (int i = 0; i < n; i++) u[i] = (float)((double)u[i] + mu * (double)b[i]);
  } else memcpy(u, b, (size_t)n * sizeof(float));
}

static void op_adam(float *restrict u, float *restrict m, float *restrict v, int n, const double *a) {
  const double b1 = a[0], omb1 = a[1], b2 = a[2], omb2 = a[3], bc1 = a[4], sqrt_bc2 = a[5], eps_hat = a[6];
  OPT_SIMD
  for (int i = 0; i < n; i++) {
    const double g = u[i];
    const float mi = (float)(b1 * (double)m[i] + omb1 * g);
    const float vi = (float)(b2 * (double)v[i] + omb2 * g * g);
    m[i] = mi;
    v[i] = vi;
    u[i] = (float)((double)mi / bc1 / (sqrt((double)vi) / sqrt_bc2 + eps_hat));
  }
}

static void add_into(float *restrict w, const float *restrict u, int n) {
  OPT_SIMD
  for (int i = 0; i < n; i++) w[i] = (float)((double)w[i] + (double)u[i]);
}

/* Buffers a call reads and writes: [w, u, state...]. */
typedef struct {
  float *p;
  size_t len;
} span_t;

/* Two ranges of n floats share memory (aliasing would break the `restrict` loops). */
static bool overlap(const float *a, const float *b, int n) {
  return n > 0 && a < b + n && b < a + n;
}

/* The program over n parameters, block by block. Built three times on x86-64 Linux (AVX-512,
 * AVX2, baseline) and picked by the loader at run time: the double-precision arithmetic is
 * the same IEEE operations in every clone (no FMA: -ffp-contract=off), so the bits are too,
 * but the baseline's 128-bit vectors hold two doubles and made this pass compute-bound: the
 * MLP's 269 322 parameters (momentum) took 181 µs per step, 105 µs with the AVX-512 clone
 * (native/bench.ts profile, one thread). */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define OPT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define OPT_CLONES
#endif
OPT_CLONES static void run_program(const span_t *buf, int n, const double *prog, int nops) {
  float *w = buf[0].p, *u = buf[1].p;
  for (int i0 = 0; i0 < n; i0 += OPT_BLOCK) {
    const int len = n - i0 < OPT_BLOCK ? n - i0 : OPT_BLOCK;
    float *ub = u + i0;
    const float *wb = w + i0;
    uint32_t s = 2;
    for (int k = 0; k < nops; k++) {
      const double *a = prog + k * OP_SLOTS;
      switch ((int)a[0]) {
        case OP_ADD_SCALED_WEIGHTS:
          if (a[1] != 0) op_add_scaled_weights(ub, wb, len, a[1]);
          break;
        case OP_SCALE:
          if (a[1] != 1) op_scale(ub, len, a[1]);
          break;
        case OP_MOMENTUM:
          op_momentum(ub, buf[s].p + i0, len, a[1], a[2], a[3] != 0, a[4] != 0);
          s += 1;
          break;
        case OP_ADAM:
          op_adam(ub, buf[s].p + i0, buf[s + 1].p + i0, len, a + 1);
          s += 2;
          break;
      }
    }
    add_into(w + i0, ub, len);
  }
}

/* optimizerStep(w, u, n, program, state): see the comment above. Everything is validated
 * (sizes, opcodes, state count, aliasing) before anything is written. */
static napi_value optimizer_step(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  span_t buf[2 + OPT_MAX_STATE];
  double *prog;
  size_t lprog;
  int n;
  bool is_array;
  uint32_t nstate;
  if (!get_args(env, info, argv, &ex) || !arg_f32(env, ex, argv, 0, "w", &buf[0].p, &buf[0].len) ||
      !arg_f32(env, ex, argv, 1, "u", &buf[1].p, &buf[1].len) || !arg_size(env, ex, argv, 2, "n", &n) ||
      !arg_f64(env, ex, argv, 3, "program", &prog, &lprog))
    return NULL;
  if (napi_is_array(env, argv[4], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[4], &nstate) != napi_ok) {
    throw_type(env, ex, "(%s) must be an array of Float32Arrays", "state", 4);
    return NULL;
  }
  if (lprog % OP_SLOTS != 0 || lprog / OP_SLOTS > OPT_MAX_OPS || nstate > OPT_MAX_STATE) {
    char msg[160];
    snprintf(msg, sizeof msg, "program has %zu slots and %u state buffers (at most %d ops of %d slots, %d buffers)",
             lprog, nstate, OPT_MAX_OPS, OP_SLOTS, OPT_MAX_STATE);
    throw_range(env, ex, msg);
    return NULL;
  }
  const int nops = (int)(lprog / OP_SLOTS);
  uint32_t needed = 0;
  for (int k = 0; k < nops; k++) {
    const double code = prog[k * OP_SLOTS];
    if (code == OP_MOMENTUM) needed += 1;
    else if (code == OP_ADAM) needed += 2;
    else if (code != OP_ADD_SCALED_WEIGHTS && code != OP_SCALE) {
      char msg[120];
      snprintf(msg, sizeof msg, "unknown opcode %g at op %d", code, k);
      throw_range(env, ex, msg);
      return NULL;
    }
  }
  if (needed != nstate) {
    char msg[120];
    snprintf(msg, sizeof msg, "the ops use %u state buffers, %u given", needed, nstate);
    throw_range(env, ex, msg);
    return NULL;
  }
  for (uint32_t j = 0; j < nstate; j++) {
    napi_value el;
    size_t byte_offset;
    void *data;
    napi_value buffer;
    napi_typedarray_type type;
    if (napi_get_element(env, argv[4], j, &el) != napi_ok ||
        napi_get_typedarray_info(env, el, &type, &buf[2 + j].len, &data, &buffer, &byte_offset) != napi_ok ||
        type != napi_float32_array) {
      char msg[120];
      snprintf(msg, sizeof msg, "state[%u] must be a Float32Array", j);
      napi_throw_type_error(env, NULL, msg);
      return NULL;
    }
    buf[2 + j].p = (float *)data;
  }
  const uint32_t nbuf = 2 + nstate;
  for (uint32_t j = 0; j < nbuf; j++) {
    char what[24];
    snprintf(what, sizeof what, j == 0 ? "w" : j == 1 ? "u" : "state[%u]", j - 2);
    if (!fits(env, ex, what, buf[j].len, n)) return NULL;
    for (uint32_t i = 0; i < j; i++) {
      if (overlap(buf[i].p, buf[j].p, n)) {
        throw_range(env, ex, "the arrays must not overlap");
        return NULL;
      }
    }
  }

  /* Large parameters are split into one contiguous run per thread (whole 16-float groups):
   * elementwise, so the bits do not change. The runs are the rows a 2-thread weight-gradient
   * GEMM wrote on each core (gemm.c, own_sgemm), so each thread updates what is in its cache. */
  const int nt = n >= PARAM_SPLIT_MIN ? par_threads : 1;
  if (nt == 1) {
    run_program(buf, n, prog, nops);
    return NULL;
  }
  _Pragma("omp parallel for schedule(static) num_threads(nt)")
  for (int t = 0; t < nt; t++) {
    const int i0 = run_start(n, t, nt), i1 = run_start(n, t + 1, nt);
    span_t part[2 + OPT_MAX_STATE];
    for (uint32_t j = 0; j < nbuf; j++) part[j] = (span_t){buf[j].p + i0, buf[j].len - (size_t)i0};
    run_program(part, i1 - i0, prog, nops);
  }
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Thread count, set and read from JS. */

static napi_value set_threads(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  int n;
  if (!get_args(env, info, argv, &ex) || !arg_size(env, ex, argv, 0, "threads", &n)) return NULL;
  if (n < 1 || n > 1024) {
    throw_range(env, ex, "threads must be an integer in [1, 1024]");
    return NULL;
  }
  blas_threads = par_threads = n;
  use_threads(n);
  return NULL;
}

static napi_value get_threads(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  if (!get_args(env, info, argv, &ex)) return NULL;
  return number(env, blas_threads);
}

/* One line naming the BLAS, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64". */
static napi_value blas_info(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS], r;
  const export_t *ex;
  if (!get_args(env, info, argv, &ex)) return NULL;
#if HAVE_OPENBLAS
  const char *s = openblas_get_config();
#elif defined(RIDGELINE_NO_CBLAS)
  const char *s = "no CBLAS at build time: the portable C GEMM (gemm_portable.c) where the CPU has no AVX-512";
#else
  const char *s = "CBLAS (not OpenBLAS: thread count is fixed)";
#endif
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &r);
  return r;
}

/* setGemmKind(0 system | 1 own | 2 portable): own throws where the CPU has no AVX-512 kernel,
 * system where the build has no CBLAS. */
static napi_value set_gemm_kind(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  int kind;
  if (!get_args(env, info, argv, &ex) || !arg_size(env, ex, argv, 0, "kind", &kind)) return NULL;
  if (kind > GEMM_PORTABLE) {
    throw_range(env, ex, "kind must be 0 (system), 1 (own) or 2 (portable)");
    return NULL;
  }
  if (kind == GEMM_OWN && !own_gemm_supported()) {
    throw_range(env, ex, "our own GEMM needs a CPU with AVX-512 (F, VL, DQ); this one has none");
    return NULL;
  }
#ifdef RIDGELINE_NO_CBLAS
  if (kind == GEMM_SYSTEM) {
    throw_range(env, ex, "this addon was built without a CBLAS (install libopenblas-dev, then rebuild it)");
    return NULL;
  }
#endif
  gemm_kind = kind;
  return NULL;
}

/* Which GEMM runs now: 0 system, 1 own, 2 portable. */
static napi_value get_gemm_kind(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS], r;
  const export_t *ex;
  if (!get_args(env, info, argv, &ex)) return NULL;
  napi_create_int32(env, gemm_kind, &r);
  return r;
}

/* ---------------------------------------------------------------------------------------- */
/* The ABI: one table, read by module init and exported as `abi` for the loader to check. */

static const export_t EXPORTS[] = {
  {"gemm", gemm, 10},
  {"addRowVector", add_row_vector, 4},
  {"sumRowsInto", sum_rows_into, 4},
  {"relu", relu, 3},
  {"reluBackward", relu_backward, 4},
  {"tanh", tanh_fwd, 3},
  {"tanhBackward", tanh_backward, 4},
  {"gelu", gelu, 3},
  {"geluBackward", gelu_backward, 4},
  {"mul", mul, 4},
  {"softmaxCrossEntropy", softmax_cross_entropy, 6},
  {"sumSquares", sum_squares, 2},
  {"im2col", im2col, 11},
  {"col2im", col2im, 11},
  {"swapAxes01", swap_axes01, 5},
  {"maxPool", max_pool, 11},
  {"maxPoolBackward", max_pool_backward, 11},
  {"avgPool", avg_pool, 10},
  {"avgPoolBackward", avg_pool_backward, 10},
  {"channelMoments", channel_moments, 6},
  {"channelAffine", channel_affine, 8},
  {"channelSums", channel_sums, 9},
  {"channelCombine", channel_combine, 10},
  {"optimizerStep", optimizer_step, 5},
  {"setThreads", set_threads, 1},
  {"getThreads", get_threads, 0},
  {"blasInfo", blas_info, 0},
  {"setGemmKind", set_gemm_kind, 1},
  {"gemmKind", get_gemm_kind, 0},
};

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value abi, fn, count;
  if (blas_threads == 0) { /* first load in this process (worker threads share the library) */
#ifdef RIDGELINE_NO_CBLAS
    gemm_kind = own_gemm_supported() ? GEMM_OWN : GEMM_PORTABLE;
#else
    gemm_kind = own_gemm_supported() ? GEMM_OWN : GEMM_SYSTEM;
#endif
#if HAVE_OPENBLAS
    blas_threads = blas_active = openblas_get_num_threads();
    par_threads = blas_threads;
#else
    blas_threads = blas_active = 1;
#endif
  }
  if (napi_create_object(env, &abi) != napi_ok) return NULL;
  for (size_t i = 0; i < sizeof EXPORTS / sizeof EXPORTS[0]; i++) {
    const export_t *e = &EXPORTS[i];
    if (napi_create_function(env, e->name, NAPI_AUTO_LENGTH, e->fn, (void *)e, &fn) != napi_ok ||
        napi_set_named_property(env, exports, e->name, fn) != napi_ok ||
        napi_create_uint32(env, (uint32_t)e->argc, &count) != napi_ok ||
        napi_set_named_property(env, abi, e->name, count) != napi_ok)
      return NULL;
  }
  if (napi_set_named_property(env, exports, "abi", abi) != napi_ok) return NULL;
  return exports;
}
