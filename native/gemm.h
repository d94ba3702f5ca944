/* ridgeline's own SGEMM (gemm.c): row-major C ← α·op(A)·op(B) + β·C, β = 0 never reading C. */
#ifndef RIDGELINE_GEMM_H
#define RIDGELINE_GEMM_H
#include <stdbool.h>

/* True when this CPU (and its OS) runs the AVX-512 kernels. */
bool own_gemm_supported(void);

/* False (C untouched) when the packing buffers cannot grow or the CPU has no kernel; m, n, k ≥ 1. */
bool own_sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
               float beta, float *c, int ldc, int threads);

#endif
