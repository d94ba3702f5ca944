/*
 * The machine's fp32 arithmetic peak, measured: CHAINS independent multiply-add chains per
 * thread at the widest vector the compiler was told the CPU has (-march=native): AVX-512 FMA,
 * else AVX2 FMA (or AVX without FMA: multiply then add), else SSE (multiply then add). Enough
 * independent chains hide the FMA latency (4 cycles × 2 ports needs 8), so the loop runs at
 * the FMA units' throughput: the most fp32 FLOPs a core can do.
 *
 * Built and run by bench/peak.ts (the bench compiles it with the machine's C compiler):
 *   peak <threads> <seconds> <repetitions>
 * prints one JSON line: the ISA, lanes, chains, and GFLOP/s of each repetition over all threads.
 * Deliberately not part of the addon (native/): it measures the machine, not ridgeline.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#define ISA "avx512f-fma"
#define LANES 16
typedef __m512 vec;
#define SPLAT(x) _mm512_set1_ps(x)
#define MADD(a, m, b) _mm512_fmadd_ps(a, m, b)
#define FUSED 1
static float hsum(vec v) { return _mm512_reduce_add_ps(v); }
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define ISA "avx2-fma"
#define LANES 8
typedef __m256 vec;
#define SPLAT(x) _mm256_set1_ps(x)
#define MADD(a, m, b) _mm256_fmadd_ps(a, m, b)
#define FUSED 1
static float hsum(vec v) { float t[8]; _mm256_storeu_ps(t, v); return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7]; }
#elif defined(__AVX__)
#include <immintrin.h>
#define ISA "avx-mul-add"
#define LANES 8
typedef __m256 vec;
#define SPLAT(x) _mm256_set1_ps(x)
#define MADD(a, m, b) _mm256_add_ps(_mm256_mul_ps(a, m), b)
#define FUSED 0
static float hsum(vec v) { float t[8]; _mm256_storeu_ps(t, v); return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7]; }
#elif defined(__SSE__)
#include <immintrin.h>
#define ISA "sse-mul-add"
#define LANES 4
typedef __m128 vec;
#define SPLAT(x) _mm_set1_ps(x)
#define MADD(a, m, b) _mm_add_ps(_mm_mul_ps(a, m), b)
#define FUSED 0
static float hsum(vec v) { float t[4]; _mm_storeu_ps(t, v); return t[0] + t[1] + t[2] + t[3]; }
#else
/* Other CPUs: the compiler's own 128-bit vectors (NEON on arm64), multiply then add. */
#define ISA "generic-128"
#define LANES 4
typedef float vec __attribute__((vector_size(16)));
#define SPLAT(x) ((vec){x, x, x, x})
#define MADD(a, m, b) ((a) * (m) + (b))
#define FUSED 0
static float hsum(vec v) { return v[0] + v[1] + v[2] + v[3]; }
#endif

#define CHAINS 12 /* the accumulators a0…a11 in run() */
/* Iterations between clock reads: long enough that reading the clock costs nothing. */
#define BLOCK 4096

typedef struct {
  double seconds;
  pthread_barrier_t *start;
  long long iterations;
  double elapsed;
  float sink;
} job;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *run(void *arg) {
  job *j = arg;
  /* acc ← acc·m + b converges to b / (1 − m) = 1: no overflow, no denormals. */
  vec m = SPLAT(0.9999999f), b = SPLAT(1e-7f);
  /* Twelve named accumulators, not an array: each stays in a register. */
  vec a0 = SPLAT(1.00f), a1 = SPLAT(1.01f), a2 = SPLAT(1.02f), a3 = SPLAT(1.03f), a4 = SPLAT(1.04f), a5 = SPLAT(1.05f);
  vec a6 = SPLAT(1.06f), a7 = SPLAT(1.07f), a8 = SPLAT(1.08f), a9 = SPLAT(1.09f), a10 = SPLAT(1.10f), a11 = SPLAT(1.11f);
  pthread_barrier_wait(j->start);
  double t0 = now(), t = t0;
  long long n = 0;
  do {
    for (int i = 0; i < BLOCK; i++) {
      a0 = MADD(a0, m, b); a1 = MADD(a1, m, b); a2 = MADD(a2, m, b); a3 = MADD(a3, m, b);
      a4 = MADD(a4, m, b); a5 = MADD(a5, m, b); a6 = MADD(a6, m, b); a7 = MADD(a7, m, b);
      a8 = MADD(a8, m, b); a9 = MADD(a9, m, b); a10 = MADD(a10, m, b); a11 = MADD(a11, m, b);
    }
    n += BLOCK;
    t = now();
  } while (t - t0 < j->seconds);
  float s = hsum(a0) + hsum(a1) + hsum(a2) + hsum(a3) + hsum(a4) + hsum(a5) +
            hsum(a6) + hsum(a7) + hsum(a8) + hsum(a9) + hsum(a10) + hsum(a11);
  j->iterations = n;
  j->elapsed = t - t0;
  j->sink = s;
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s <threads> <seconds> <repetitions>\n", argv[0]);
    return 2;
  }
  int threads = atoi(argv[1]), reps = atoi(argv[3]);
  double seconds = atof(argv[2]);
  if (threads < 1 || threads > 256 || reps < 1 || !(seconds > 0)) {
    fprintf(stderr, "threads must be in [1, 256], repetitions ≥ 1, seconds > 0\n");
    return 2;
  }
  pthread_t *tid = calloc(threads, sizeof *tid);
  job *jobs = calloc(threads, sizeof *jobs);
  pthread_barrier_t start;
  float sink = 0;
  printf("{\"isa\":\"%s\",\"lanes\":%d,\"chains\":%d,\"fused\":%s,\"threads\":%d,\"gflops\":[", ISA, LANES, CHAINS, FUSED ? "true" : "false", threads);
  for (int r = 0; r < reps; r++) {
    sink = 0; /* the last repetition's */
    pthread_barrier_init(&start, NULL, threads);
    for (int i = 0; i < threads; i++) {
      jobs[i] = (job){.seconds = seconds, .start = &start};
      if (pthread_create(&tid[i], NULL, run, &jobs[i]) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
      }
    }
    double flops = 0, elapsed = 0;
    for (int i = 0; i < threads; i++) {
      pthread_join(tid[i], NULL);
      /* A multiply-add is 2 FLOPs per lane, fused or not. */
      flops += 2.0 * LANES * CHAINS * (double)jobs[i].iterations;
      if (jobs[i].elapsed > elapsed) elapsed = jobs[i].elapsed;
      sink += jobs[i].sink;
    }
    pthread_barrier_destroy(&start);
    printf("%s%.3f", r ? "," : "", flops / elapsed / 1e9);
  }
  /* The last repetition's sum of the chains, so the compiler cannot drop them: each lane of each
     chain starts in [1, 1.11] and moves towards 1, so it is ≈ threads·CHAINS·LANES. */
  printf("],\"checksum\":%.1f}\n", sink);
  free(tid);
  free(jobs);
  return 0;
}
