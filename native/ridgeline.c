/*
 * ridgeline_native: the Backend interface of src/kernels/backend.ts as an N-API addon in C.
 * GEMM is our own AVX-512 kernel (gemm.c) on CPUs that have AVX-512, else the system CBLAS
 * (OpenBLAS: cblas_sgemm, row-major) or, built without one, a portable C GEMM; everything else
 * is plain C loops written so the compiler vectorizes them. The reference is
 * src/kernels/js/index.ts (convolution, pooling and per-channel kernels:
 * src/kernels/js/spatial.ts); src/kernels/native/index.ts loads this addon and
 * test/kernels/native.test.ts and test/kernels/spatial.test.ts compare them.
 *
 * The files, by what they own:
 *   ridgeline.c   this table of exports and the module's init
 *   args.[ch]     the calling convention: every argument checked by its row of the table
 *   blas.c        which GEMM runs, on how many threads (parallel.h: the thread policy)
 *   dense.c       GEMM export, bias rows, activations, softmax cross-entropy, Σw²
 *   conv.c        im2col, col2im, the axis swap (spatial.h: window geometry)
 *   pool.c        max and average pooling
 *   channel.c     BatchNorm's per-channel kernels
 *   optimizer.c   the fused optimizer step
 *   gemm.c        our own AVX-512 SGEMM; gemm_portable.c the portable one
 *
 * Every export is a row of EXPORTS below: its name, its function and its arguments with their
 * kinds and names (args.h). The argument counts are also exported as `abi` ({ name: argc }),
 * which the TypeScript loader checks against its own table, so a stale or mismatched build
 * fails to load with a reason instead of misbehaving.
 *
 * Convolution and pooling geometry crosses the boundary as plain numbers (the TypeScript
 * loader unpacks ConvGeometry/PoolGeometry); kernel and stride must be ≥ 1 and outHeight /
 * outWidth must equal floor((H + 2·padding − kernel)/stride) + 1 exactly, so every window a
 * kernel visits lies inside its plane (or the zero padding); otherwise a RangeError. Array
 * sizes are products of up to six such numbers: they are computed saturating (mul_sat), so an
 * absurd geometry fails `fits` instead of wrapping around.
 */
#include "args.h"
#include "kernels.h"
#include "parallel.h"

/* Argument kinds, for the table only. */
#define B(name) {ARG_BOOL, name}
#define N(name) {ARG_NUM, name}
#define S(name) {ARG_SIZE, name}
#define F(name) {ARG_F32, name}
#define I(name) {ARG_I32, name}
#define D(name) {ARG_F64, name}
#define V(name) {ARG_VALUE, name}
/* ConvGeometry, PoolGeometry and a per-channel shape, as the loader unpacks them. */
#define CONV S("channels"), S("height"), S("width"), S("kernel"), S("stride"), S("padding"), S("outHeight"), S("outWidth")
#define POOL S("height"), S("width"), S("kernelHeight"), S("kernelWidth"), S("stride"), S("outHeight"), S("outWidth")
#define NCS_ S("n"), S("c"), S("s")

/* ---------------------------------------------------------------------------------------- */
/* The ABI: one table, read by module init and exported as `abi` for the loader to check. */

static const export_t EXPORTS[] = {
  {"gemm", gemm, {B("transA"), B("transB"), S("m"), S("n"), S("k"), N("alpha"), F("a"), F("b"), N("beta"), F("c")}},
  {"addRowVector", add_row_vector, {F("y"), F("bias"), S("rows"), S("cols")}},
  {"sumRowsInto", sum_rows_into, {F("x"), S("rows"), S("cols"), F("out")}},
  {"relu", relu, {F("x"), F("y"), S("n")}},
  {"reluBackward", relu_backward, {F("y"), F("dy"), F("dx"), S("n")}},
  {"tanh", tanh_fwd, {F("x"), F("y"), S("n")}},
  {"tanhBackward", tanh_backward, {F("y"), F("dy"), F("dx"), S("n")}},
  {"gelu", gelu, {F("x"), F("y"), S("n")}},
  {"geluBackward", gelu_backward, {F("x"), F("dy"), F("dx"), S("n")}},
  {"mul", mul, {F("a"), F("b"), F("out"), S("n")}},
  {"softmaxCrossEntropy", softmax_cross_entropy, {F("logits"), I("labels"), S("rows"), S("cols"), F("dlogits"), N("scale")}},
  {"sumSquares", sum_squares, {F("x"), S("n")}},
  {"im2col", im2col, {F("x"), S("batch"), CONV, F("cols")}},
  {"col2im", col2im, {F("cols"), S("batch"), CONV, F("dx")}},
  {"swapAxes01", swap_axes01, {F("x"), S("d0"), S("d1"), S("inner"), F("out")}},
  {"maxPool", max_pool, {F("x"), S("planes"), POOL, F("y"), I("argmax")}},
  {"maxPoolBackward", max_pool_backward, {F("dy"), I("argmax"), S("planes"), POOL, F("dx")}},
  {"avgPool", avg_pool, {F("x"), S("planes"), POOL, F("y")}},
  {"avgPoolBackward", avg_pool_backward, {F("dy"), S("planes"), POOL, F("dx")}},
  {"channelMoments", channel_moments, {F("x"), NCS_, F("mean"), F("variance")}},
  {"channelAffine", channel_affine, {F("x"), NCS_, F("scale"), F("shift"), F("y"), B("relu")}},
  {"channelSums", channel_sums, {F("a"), F("b"), NCS_, F("center"), F("mask"), F("sumA"), F("sumAB")}},
  {"channelCombine", channel_combine, {F("a"), F("b"), NCS_, F("alpha"), F("beta"), F("gamma"), F("mask"), F("out")}},
  {"optimizerStep", optimizer_step, {F("w"), F("u"), S("n"), D("program"), V("state")}},
  {"setThreads", set_threads, {S("threads")}},
  {"getThreads", get_threads, {{ARG_END, NULL}}},
  {"blasInfo", blas_info, {{ARG_END, NULL}}},
  {"setGemmKind", set_gemm_kind, {S("kind")}},
  {"gemmKind", get_gemm_kind, {{ARG_END, NULL}}},
};

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value abi, fn, count;
  blas_first_load();
  if (napi_create_object(env, &abi) != napi_ok) return NULL;
  for (size_t i = 0; i < sizeof EXPORTS / sizeof EXPORTS[0]; i++) {
    const export_t *e = &EXPORTS[i];
    if (napi_create_function(env, e->name, NAPI_AUTO_LENGTH, e->fn, (void *)e, &fn) != napi_ok ||
        napi_set_named_property(env, exports, e->name, fn) != napi_ok ||
        napi_create_uint32(env, (uint32_t)export_argc(e), &count) != napi_ok ||
        napi_set_named_property(env, abi, e->name, count) != napi_ok)
      return NULL;
  }
  if (napi_set_named_property(env, exports, "abi", abi) != napi_ok) return NULL;
  return exports;
}
