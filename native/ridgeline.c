/*
 * ridgeline_native: the Backend interface of src/kernels/backend.ts as an N-API addon in C.
 * GEMM is the system CBLAS (OpenBLAS: cblas_sgemm, row-major); everything else is plain C
 * loops written so the compiler vectorizes them. The reference is src/kernels/js/index.ts;
 * src/kernels/native/index.ts loads this file and test/kernels/native.test.ts compares them.
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
 * Typed arrays: napi_get_typedarray_info returns `data` already advanced by the view's
 * byteOffset (Node's documented contract: "adjusted by the byte_offset value so that it
 * points to the first element"), so subarray views are honoured by using `data` as is and
 * checking against the view's own `length`; adding byte_offset again would be a double offset.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <cblas.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* One row of the export table; the row is the callback's `data`, so a function knows its name
 * (for error messages) and its argument count. */
typedef struct {
  const char *name;
  napi_callback fn;
  size_t argc;
} export_t;

#define MAX_ARGS 10

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

static void use_threads(int n) {
#if HAVE_OPENBLAS
  if (n != blas_active) {
    openblas_set_num_threads(n);
    blas_active = n;
  }
#else
  (void)n;
#endif
}

/* ---------------------------------------------------------------------------------------- */
/* Kernels. */

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
  use_threads(2.0 * m * n * k < SMALL_GEMM_FLOPS ? 1 : blas_threads);
  /* Row-major leading dimensions: A is m×k (k×m when transposed), B is k×n (n×k). */
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              m, n, k, (float)alpha, a, ta ? m : k, b, tb ? k : n, (float)beta, c, n);
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

/* Σ x² in float64 (the simd pragma lets the compiler split the sum into lanes). */
static napi_value sum_squares(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  const export_t *ex;
  float *x;
  size_t lx;
  int n;
  if (!get_args(env, info, argv, &ex) || !arg_f32(env, ex, argv, 0, "x", &x, &lx) ||
      !arg_size(env, ex, argv, 1, "n", &n) || !fits(env, ex, "x", lx, n))
    return NULL;
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < n; i++) s += (double)x[i] * (double)x[i];
  return number(env, s);
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
  blas_threads = n;
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
#else
  const char *s = "CBLAS (not OpenBLAS: thread count is fixed)";
#endif
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &r);
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
  {"optimizerStep", optimizer_step, 5},
  {"setThreads", set_threads, 1},
  {"getThreads", get_threads, 0},
  {"blasInfo", blas_info, 0},
};

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value abi, fn, count;
  if (blas_threads == 0) { /* first load in this process (worker threads share the library) */
#if HAVE_OPENBLAS
    blas_threads = blas_active = openblas_get_num_threads();
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
