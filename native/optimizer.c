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
#include "args.h"
#include "parallel.h"
#include "kernels.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

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
KERNEL(optimizer_step) {
  ARGS;
  span_t buf[2 + OPT_MAX_STATE];
  buf[0] = (span_t){arg[0].f32, arg[0].len};
  buf[1] = (span_t){arg[1].f32, arg[1].len};
  const int n = arg[2].size;
  const double *prog = arg[3].f64;
  const size_t lprog = arg[3].len;
  bool is_array;
  uint32_t nstate;
  if (napi_is_array(env, arg[4].value, &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, arg[4].value, &nstate) != napi_ok) {
    throw_type(env, ex, 4, "an array of Float32Arrays");
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
    if (napi_get_element(env, arg[4].value, j, &el) != napi_ok ||
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
