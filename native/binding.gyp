# The ridgeline native addon: C files (see ridgeline.c for which owns what) against N-API (NAPI_VERSION 8) and the system CBLAS.
# Built by scripts/build-native.mjs (npm's bundled node-gyp, --nodedir from the running node).
#
# BLAS flags come from `pkg-config openblas` (Debian/Ubuntu: libopenblas-dev), or plain
# -lopenblas where only <cblas.h> is found. With neither (a fresh machine), the addon builds
# with RIDGELINE_NO_CBLAS: gemm.c's own AVX-512 kernel where the CPU has it, the portable C GEMM
# (gemm_portable.c) elsewhere, and nothing to link.
#
# Code generation is portable on purpose: the addon may be built on one machine and run on
# another (a CI image, a shared home directory), so no -march=native. On x86-64 we ask for
# SSE4.2 + POPCNT, i.e. the x86-64-v2 level (every x86-64 CPU since 2009), spelled as -m flags
# because -march=x86-64-v2 needs GCC >= 11 / clang >= 12. Wider code is chosen at run time
# instead: gemm.c's AVX-512 kernel is compiled with a per-function target attribute and used
# only when cpuid reports AVX-512; the optimizer pass is built as target clones (AVX-512,
# AVX2, baseline) that the loader picks by CPU; OpenBLAS picks its own kernels. The other
# elementwise loops stay at 128-bit vectors: they are memory-bound at MLP sizes.
# -fno-math-errno lets libm calls and sqrt-free loops vectorize; -fopenmp enables `omp simd`
# and the `omp parallel for` loops (libgomp, part of GCC; see PARALLEL_FOR in parallel.h);
# -ffp-contract=off keeps each elementwise result
# rounded the way the reference rounds it (no FMA contraction on arm64 either).
{
  "variables": {
    "have_cblas%": "<!(pkg-config --exists openblas 2>/dev/null && echo 1 || (test -f /usr/include/cblas.h && echo 1) || echo 0)"
  },
  "targets": [
    {
      "target_name": "ridgeline_native",
      "sources": ["ridgeline.c", "args.c", "blas.c", "dense.c", "conv.c", "pool.c", "channel.c", "optimizer.c", "gemm.c", "gemm_portable.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O3", "-fno-math-errno", "-fopenmp", "-ffp-contract=off", "-std=gnu11"],
      "ldflags": ["-fopenmp"],
      "conditions": [
        ["have_cblas==1", {
          "cflags": ["<!@(pkg-config --cflags openblas 2>/dev/null || true)"],
          "libraries": ["<!@(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)"]
        }, {
          "defines": ["RIDGELINE_NO_CBLAS"]
        }],
        ["target_arch=='x64'", {
          "cflags": ["-msse4.2", "-mpopcnt", "-mtune=generic"],
          "xcode_settings": { "OTHER_CFLAGS": ["-msse4.2", "-mpopcnt"] }
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "OTHER_CFLAGS": [
              "-O3", "-fno-math-errno", "-ffp-contract=off",
              "<!@(pkg-config --cflags openblas 2>/dev/null || true)"
            ]
          }
        }]
      ]
    }
  ]
}
