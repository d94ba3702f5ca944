/*
 * The GEMM and the threads: which GEMM runs (our own AVX-512 kernel in gemm.c, the system
 * CBLAS, or the portable C one), on how many threads, and the exports that set and read both.
 */
#include "args.h"
#include "parallel.h"
#include "kernels.h"
#ifndef RIDGELINE_NO_CBLAS
#include <cblas.h>
#endif
/* Built without a CBLAS (no libopenblas-dev), gemm_portable.c multiplies where gemm.c cannot. */
#include "gemm_portable.h"
#include "gemm.h"
#include <stdlib.h>

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
int par_threads = 1;

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

bool sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, const float *b, float beta, float *c) {
  const int lda = ta ? m : k, ldb = tb ? k : n; /* row-major: A is m×k (k×m transposed), B k×n (n×k) */
  const bool small = 2.0 * m * n * k < SMALL_GEMM_FLOPS;
  if (gemm_kind == GEMM_OWN && own_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, n, small ? 1 : par_threads))
    return true;
  if (gemm_kind == GEMM_PORTABLE) return portable_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, n, small ? 1 : par_threads);
#ifndef RIDGELINE_NO_CBLAS
  /* (The portable GEMM splits rows of C over the threads itself; slices of K would only add a pass.) */
  if (long_k(m, n, k) && gemm_split_k(ta, tb, m, n, k, alpha, a, b, beta, c)) return true;
#endif
  return system_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, n, small ? 1 : blas_threads);
}

void blas_first_load(void) {
  if (blas_threads != 0) return; /* worker threads share the library: once per process */
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

/* ---------------------------------------------------------------------------------------- */
/* Thread count and GEMM kind, set and read from JS. */

KERNEL(set_threads) {
  ARGS;
  const int n = arg[0].size;
  if (n < 1 || n > 1024) {
    throw_range(env, ex, "threads must be an integer in [1, 1024]");
    return NULL;
  }
  blas_threads = par_threads = n;
  use_threads(n);
  return NULL;
}

KERNEL(get_threads) {
  ARGS;
  (void)arg;
  return number(env, blas_threads);
}

/* One line naming the BLAS, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64". */
KERNEL(blas_info) {
  ARGS;
  (void)arg;
  napi_value r;
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
KERNEL(set_gemm_kind) {
  ARGS;
  const int kind = arg[0].size;
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
KERNEL(get_gemm_kind) {
  ARGS;
  (void)arg;
  napi_value r;
  napi_create_int32(env, gemm_kind, &r);
  return r;
}
