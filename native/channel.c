/* Per-channel kernels of BatchNorm (x as [n, c, s]: s = 1 for a dense layer's [n, c]). */
#include "args.h"
#include "parallel.h"
#include "kernels.h"
#include <string.h>

/* n·c·s, the elements of x. */
#define NCS mul_sat(mul_sat(n, c), s)

/* mean[c] and biased variance[c] over the n·s values of each channel: float64, two passes
 * (mean, then Σ(x − mean)²), rounded once on store. With s > 1 each contiguous run of s values
 * is summed with `omp simd` lanes (a different order from the reference: within float64
 * rounding, ~1e-16 relative); with s == 1 (x is [n, c]) a block of channels accumulates row by
 * row in the reference's order. */
KERNEL(channel_moments) {
  ARGS;
  const float *x = arg[0].f32;
  const int n = arg[1].size, c = arg[2].size, s = arg[3].size;
  float *mean = arg[4].f32, *var = arg[5].f32;
  if (!FITS(0, NCS) || !FITS(4, c) || !FITS(5, c)) return NULL;
  const double count = (double)n * (double)s;
  if (s == 1) {
    enum { BLOCK = 256 };
    double sum[BLOCK], sq[BLOCK];
    for (int64_t c0 = 0; c0 < c; c0 += BLOCK) {
      const int64_t w = c - c0 < BLOCK ? c - c0 : BLOCK;
      for (int64_t t = 0; t < w; t++) sum[t] = sq[t] = 0;
      for (int64_t b = 0; b < n; b++) {
        const float *r = x + b * (int64_t)c + c0;
        for (int64_t t = 0; t < w; t++) sum[t] += r[t];
      }
      for (int64_t t = 0; t < w; t++) sum[t] /= count;
      for (int64_t b = 0; b < n; b++) {
        const float *r = x + b * (int64_t)c + c0;
        for (int64_t t = 0; t < w; t++) {
          const double d = (double)r[t] - sum[t];
          sq[t] += d * d;
        }
      }
      for (int64_t t = 0; t < w; t++) {
        mean[c0 + t] = (float)sum[t];
        var[c0 + t] = (float)(sq[t] / count);
      }
    }
    return NULL;
  }
  const int64_t par_work = NCS;
  PARALLEL_FOR
  for (int64_t ch = 0; ch < c; ch++) {
    double sum = 0;
    for (int64_t b = 0; b < n; b++) {
      const float *r = x + (b * c + ch) * s;
#pragma omp simd reduction(+ : sum)
      for (int64_t t = 0; t < s; t++) sum += r[t];
    }
    const double mu = sum / count;
    double sq = 0;
    for (int64_t b = 0; b < n; b++) {
      const float *r = x + (b * c + ch) * s;
#pragma omp simd reduction(+ : sq)
      for (int64_t t = 0; t < s; t++) {
        const double d = (double)r[t] - mu;
        sq += d * d;
      }
    }
    mean[ch] = (float)mu;
    var[ch] = (float)(sq / count);
  }
  return NULL;
}

/* The fused ReLU of channel_affine, and the mask of channel_sums/channel_combine: the
 * reference's `!(v > 0) ? 0 : v` (NaN → 0, −0 → +0). Written so GCC if-converts and
 * vectorizes them (20× faster than the branches it emits otherwise, measured): RELU compares
 * the float after rounding, which gives the same result as clamping the double before it;
 * MASKED clears v's bits unless m > 0 (GCC leaves every form of select there as a branch). */
#define RELU(f) ((f) > 0 ? (f) : 0.0f)
static inline float MASKED(float m, float v) {
  union { float f; uint32_t u; } r = {v};
  r.u &= -(uint32_t)(m > 0);
  return r.f;
}

/* y = scale[c]·x + shift[c] (then max(·, 0) when relu), in float64 and rounded once, as the
 * reference (scale·x is exact in float64): bit-identical. y may be x (then one pointer is
 * used, so the loop still vectorizes). */
KERNEL(channel_affine) {
  ARGS;
  const float *x = arg[0].f32;
  const int n = arg[1].size, c = arg[2].size, s = arg[3].size;
  const float *scale = arg[4].f32, *shift = arg[5].f32;
  float *y = arg[6].f32;
  const bool relu = arg[7].b;
  if (!FITS(0, NCS) || !FITS(4, c) || !FITS(5, c) || !FITS(6, NCS)) return NULL;
  if (s == 1) {
    for (int64_t b = 0; b < n; b++) {
      const float *xr = x + b * (int64_t)c;
      float *yr = y + b * (int64_t)c;
      for (int64_t ch = 0; ch < c; ch++) {
        const float v = (float)((double)scale[ch] * xr[ch] + shift[ch]);
        yr[ch] = relu ? RELU(v) : v;
      }
    }
    return NULL;
  }
  const int64_t par_work = NCS;
  PARALLEL_FOR
  for (int64_t bc = 0; bc < (int64_t)n * c; bc++) {
    const int64_t ch = bc % c;
    const double a = scale[ch], k = shift[ch];
    const int64_t o = bc * s;
    if (x == y) {
      float *restrict r = y + o;
      if (relu)
        for (int64_t t = 0; t < s; t++) {
          const float v = (float)(a * r[t] + k);
          r[t] = RELU(v);
        }
      else
        for (int64_t t = 0; t < s; t++) r[t] = (float)(a * r[t] + k);
    } else {
      const float *restrict xr = x + o;
      float *restrict yr = y + o;
      if (relu)
        for (int64_t t = 0; t < s; t++) {
          const float v = (float)(a * xr[t] + k);
          yr[t] = RELU(v);
        }
      else
        for (int64_t t = 0; t < s; t++) yr[t] = (float)(a * xr[t] + k);
    }
  }
  return NULL;
}

/* The optional mask of channel_sums and channel_combine (argument i): empty (no ReLU fused) or n·c·s long. */
#define MASK_FITS(i) (arg[i].len == 0 || FITS(i, NCS))

/* With a' = a where mask > 0 and 0 elsewhere (a' = a when mask is empty): sumA[c] += Σ a',
 * sumAB[c] += Σ a'·(b − center[c]) over the n·s values of channel c, in float64 (b − center
 * and a'·(b − center) are exact or rounded once there, as in the reference), each output
 * rounded once. Summation order: as channel_moments (s == 1: the reference's, bit-identical;
 * s > 1: simd lanes, within float64 rounding). a and b may be the same array. */
KERNEL(channel_sums) {
  ARGS;
  const float *a = arg[0].f32, *b = arg[1].f32;
  const int n = arg[2].size, c = arg[3].size, s = arg[4].size;
  const float *center = arg[5].f32, *mask = arg[6].f32;
  float *sa = arg[7].f32, *sab = arg[8].f32;
  const size_t lm = arg[6].len;
  if (!FITS(0, NCS) || !FITS(1, NCS) || !FITS(5, c) || !MASK_FITS(6) || !FITS(7, c) || !FITS(8, c)) return NULL;
  const bool masked = lm > 0;
  if (s == 1) {
    enum { BLOCK = 256 };
    double accA[BLOCK], accAB[BLOCK];
    for (int64_t c0 = 0; c0 < c; c0 += BLOCK) {
      const int64_t w = c - c0 < BLOCK ? c - c0 : BLOCK;
      for (int64_t t = 0; t < w; t++) accA[t] = accAB[t] = 0;
      for (int64_t r = 0; r < n; r++) {
        const int64_t off = r * (int64_t)c + c0;
        const float *ar = a + off, *br = b + off, *mr = masked ? mask + off : NULL;
        for (int64_t t = 0; t < w; t++) {
          const float af = ar[t];
          const double v = masked ? MASKED(mr[t], af) : af;
          accA[t] += v;
          accAB[t] += v * ((double)br[t] - center[c0 + t]);
        }
      }
      for (int64_t t = 0; t < w; t++) {
        sa[c0 + t] = (float)((double)sa[c0 + t] + accA[t]);
        sab[c0 + t] = (float)((double)sab[c0 + t] + accAB[t]);
      }
    }
    return NULL;
  }
  const int64_t par_work = NCS;
  PARALLEL_FOR
  for (int64_t ch = 0; ch < c; ch++) {
    double accA = 0, accAB = 0;
    const double mid = center[ch];
    for (int64_t r = 0; r < n; r++) {
      const int64_t off = (r * c + ch) * s;
      const float *ar = a + off, *br = b + off;
      if (masked) {
        const float *mr = mask + off;
#pragma omp simd reduction(+ : accA, accAB)
        for (int64_t t = 0; t < s; t++) {
          const float af = ar[t];
          const double v = MASKED(mr[t], af);
          accA += v;
          accAB += v * ((double)br[t] - mid);
        }
      } else {
#pragma omp simd reduction(+ : accA, accAB)
        for (int64_t t = 0; t < s; t++) {
          accA += ar[t];
          accAB += (double)ar[t] * ((double)br[t] - mid);
        }
      }
    }
    sa[ch] = (float)((double)sa[ch] + accA);
    sab[ch] = (float)((double)sab[ch] + accAB);
  }
  return NULL;
}

/* out = α[c]·a' + β[c]·b + γ[c], a' as in channel_sums, in float64 in the reference's order,
 * rounded once: bit-identical. out may be a or b (elementwise, same index). */
KERNEL(channel_combine) {
  ARGS;
  const float *a = arg[0].f32, *b = arg[1].f32;
  const int n = arg[2].size, c = arg[3].size, s = arg[4].size;
  const float *al = arg[5].f32, *be = arg[6].f32, *ga = arg[7].f32, *mask = arg[8].f32;
  float *out = arg[9].f32;
  const size_t lm = arg[8].len;
  if (!FITS(0, NCS) || !FITS(1, NCS) || !FITS(5, c) || !FITS(6, c) || !FITS(7, c) || !MASK_FITS(8) || !FITS(9, NCS)) return NULL;
  const bool masked = lm > 0;
  if (s == 1) {
    for (int64_t r = 0; r < n; r++) {
      const int64_t off = r * (int64_t)c;
      const float *ar = a + off, *br = b + off, *mr = masked ? mask + off : NULL;
      float *o = out + off;
      for (int64_t ch = 0; ch < c; ch++) {
        const float af = ar[ch];
        const double v = masked ? MASKED(mr[ch], af) : af;
        o[ch] = (float)((double)al[ch] * v + (double)be[ch] * br[ch] + ga[ch]);
      }
    }
    return NULL;
  }
  const int64_t par_work = NCS;
  PARALLEL_FOR
  for (int64_t bc = 0; bc < (int64_t)n * c; bc++) {
    const int64_t ch = bc % c;
    const double p = al[ch], q = be[ch], k = ga[ch];
    const int64_t off = bc * s;
    const float *ar = a + off, *br = b + off;
    float *o = out + off;
    if (masked) {
      const float *mr = mask + off;
      for (int64_t t = 0; t < s; t++) {
        const float af = ar[t];
        const double v = MASKED(mr[t], af);
        o[t] = (float)(p * v + q * br[t] + k);
      }
    } else {
      for (int64_t t = 0; t < s; t++) o[t] = (float)(p * ar[t] + q * br[t] + k);
    }
  }
  return NULL;
}
