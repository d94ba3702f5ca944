/* Every export's function, one per row of EXPORTS (ridgeline.c), by the file that owns it. */
#ifndef RIDGELINE_KERNELS_H
#define RIDGELINE_KERNELS_H
#include "args.h"

/* dense.c */
KERNEL(gemm);
KERNEL(add_row_vector);
KERNEL(sum_rows_into);
KERNEL(relu);
KERNEL(relu_backward);
KERNEL(tanh_fwd);
KERNEL(tanh_backward);
KERNEL(gelu);
KERNEL(gelu_backward);
KERNEL(mul);
KERNEL(softmax_cross_entropy);
KERNEL(sum_squares);
/* conv.c */
KERNEL(im2col);
KERNEL(col2im);
KERNEL(swap_axes01);
/* pool.c */
KERNEL(max_pool);
KERNEL(max_pool_backward);
KERNEL(avg_pool);
KERNEL(avg_pool_backward);
/* channel.c */
KERNEL(channel_moments);
KERNEL(channel_affine);
KERNEL(channel_sums);
KERNEL(channel_combine);
/* optimizer.c */
KERNEL(optimizer_step);
/* blas.c */
KERNEL(set_threads);
KERNEL(get_threads);
KERNEL(blas_info);
KERNEL(set_gemm_kind);
KERNEL(get_gemm_kind);

#endif
