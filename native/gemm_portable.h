/* The portable SGEMM (gemm_portable.c): row-major C ← α·op(A)·op(B) + β·C for machines without
 * a CBLAS; false (C untouched) when its packing buffer cannot grow; m, n, k ≥ 1. */
#ifndef RIDGELINE_GEMM_PORTABLE_H
#define RIDGELINE_GEMM_PORTABLE_H
#include <stdbool.h>

bool portable_sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                    float beta, float *c, int ldc, int threads);

#endif
