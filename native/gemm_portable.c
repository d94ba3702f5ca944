/* The portable SGEMM: what the native addon multiplies with when the machine has no CBLAS
 * (a fresh machine without libopenblas-dev) and the CPU no AVX-512 for gemm.c's kernel.
 *
 * Row-major C ← α·op(A)·op(B) + β·C, β = 0 never reading C. Loop order i-p-j over blocks: for
 * a row of C and a block of K, add α·op(A)[i, p] times row p of op(B), a contiguous run that the
 * compiler vectorizes (built as target clones: AVX-512, AVX2 and the SSE4.2 baseline, picked by
 * CPU at load). op(B) is packed row-major first when it is transposed. Rows of C are split over
 * OpenMP threads in static chunks, and each row is summed in the same order on any thread count,
 * so results do not depend on the thread count. Not a tuned kernel: OpenBLAS or gemm.c are
 * several times faster; this keeps the backend working everywhere. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "gemm_portable.h"

#define KB 256 /* rows of op(B) per block: 256 × NB floats stay in L2 */
#define NB 512 /* columns of C per block */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

/* c[0..n) += s · b[0..n). */
CLONES static void axpy_row(int n, float s, const float *restrict b, float *restrict c) {
  for (int j = 0; j < n; j++) c[j] += s * b[j];
}

static _Thread_local float *packed = NULL;
static _Thread_local size_t packed_len = 0;

bool portable_sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                    float beta, float *c, int ldc, int threads) {
  /* op(B) as k×n row-major: B itself when not transposed, else a packed copy. */
  const float *bb = b;
  int ldbb = ldb;
  if (tb) {
    const size_t need = (size_t)k * n;
    if (need > packed_len) {
      float *grown = realloc(packed, need * sizeof(float));
      if (!grown) return false;
      packed = grown;
      packed_len = need;
    }
    for (int p = 0; p < k; p++)
      for (int j = 0; j < n; j++) packed[(size_t)p * n + j] = b[(size_t)j * ldb + p];
    bb = packed;
    ldbb = n;
  }
  _Pragma("omp parallel for schedule(static) num_threads(threads) if(threads > 1)")
  for (int i = 0; i < m; i++) {
    float *ci = c + (size_t)i * ldc;
    if (beta == 0) memset(ci, 0, (size_t)n * sizeof(float));
    else if (beta != 1) for (int j = 0; j < n; j++) ci[j] *= beta;
    for (int j0 = 0; j0 < n; j0 += NB) {
      const int nj = n - j0 < NB ? n - j0 : NB;
      for (int p0 = 0; p0 < k; p0 += KB) {
        const int p1 = k - p0 < KB ? k : p0 + KB;
        for (int p = p0; p < p1; p++) {
          const float s = alpha * (ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p]);
          if (s != 0) axpy_row(nj, s, bb + (size_t)p * ldbb + j0, ci + j0);
        }
      }
    }
  }
  return true;
}
