/* Threads: the BLAS's and our own OpenMP loops' (blas.c), shared by every kernel file. */
#ifndef RIDGELINE_PARALLEL_H
#define RIDGELINE_PARALLEL_H
#include <stdbool.h>
#include <stdint.h>

/* Our own loops (im2col, pooling, the per-channel kernels: memory-bound data movement that was
 * a third of the CNN step, all on one core) run on OpenMP threads, as many as the BLAS gets.
 * Each parallel loop splits independent outputs (planes, channels, rows of cols) into static
 * chunks, so every output is computed exactly as on one thread: results do not depend on the
 * thread count. A loop over fewer than PAR_MIN floats stays on the calling thread, where
 * waking a worker (a few µs) would cost more than it saves. Without OpenMP (-fopenmp missing)
 * the pragmas are ignored and everything runs on one thread. */
extern int par_threads;
#define PAR_MIN 32768
/* Parameters this large are split over the threads in the optimizer pass and Σw² (as contiguous
 * runs, the rows a 2-thread weight-gradient GEMM wrote on each core); smaller ones stay on one
 * thread, where waking a worker would cost more than it saves. */
#define PARAM_SPLIT_MIN 65536

/* Where run t of `parts` contiguous runs over n floats starts, on a 16-float boundary (run
 * `parts` "starts" at n): the same halves for the optimizer pass and Σw². */
static inline int run_start(int n, int t, int parts) {
  return t == parts ? n : (int)((int64_t)n * t / parts / 16 * 16);
}
/* Before a loop: `par_work` (floats touched) decides whether it is split. */
#define PARALLEL_FOR _Pragma("omp parallel for schedule(static) num_threads(par_threads) if(par_work >= PAR_MIN)")

/* C = α·op(A)·op(B) + β·C (row-major, m, n, k ≥ 1) on the GEMM setGemmKind chose, with the
 * thread policy above; false (C untouched) only when a packing buffer cannot grow. */
bool sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, const float *b, float beta, float *c);

/* Reads the BLAS's thread count and picks the GEMM, once per process. */
void blas_first_load(void);

#endif
