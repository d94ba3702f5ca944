/**
 * The reference convolution, pooling and per-channel kernels: plain loops written to be read,
 * the oracle the native ones are tested against. Sums run in float64 (JS numbers).
 */
import type { Backend, ConvGeometry, PoolGeometry } from '../backend.js';

type SpatialKernels = Pick<Backend,
  'im2col' | 'col2im' | 'swapAxes01' | 'maxPool' | 'maxPoolBackward' | 'avgPool' | 'avgPoolBackward' |
  'channelMoments' | 'channelAffine' | 'channelSums' | 'channelCombine'>;

/** Calls visit(src, dst) for every entry cols[dst] of im2col's output; src is the input index, or −1 in the padding. */
function forEachTap(batch: number, g: ConvGeometry, visit: (src: number, dst: number) => void): void {
  const { channels: C, height: H, width: W, kernel: k, stride, padding: pad, outHeight: OH, outWidth: OW } = g;
  const cols = batch * OH * OW;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        const row = ((c * k + i) * k + j) * cols;
        for (let b = 0; b < batch; b++) {
          const plane = (b * C + c) * H * W;
          for (let oh = 0; oh < OH; oh++) {
            const h = oh * stride - pad + i;
            for (let ow = 0; ow < OW; ow++) {
              const w = ow * stride - pad + j;
              const dst = row + (b * OH + oh) * OW + ow;
              visit(h >= 0 && h < H && w >= 0 && w < W ? plane + h * W + w : -1, dst);
            }
          }
        }
      }
    }
  }
}

/** For each window: start(o), visit(inputIndex, o) for each of its pixels, end(o). */
function forEachWindowPixel(planes: number, g: PoolGeometry, start: (o: number) => void,
  visit: (src: number, o: number) => void, end: (o: number) => void = () => {}): void {
  const { height: H, width: W, kernelHeight: kh, kernelWidth: kw, stride, outHeight: OH, outWidth: OW } = g;
  for (let p = 0; p < planes; p++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const o = (p * OH + oh) * OW + ow;
        start(o);
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) visit(p * H * W + (oh * stride + i) * W + ow * stride + j, o);
        }
        end(o);
      }
    }
  }
}

export const jsSpatialKernels: SpatialKernels = {
  im2col(x, batch, g, cols) {
    forEachTap(batch, g, (src, dst) => { cols[dst] = src < 0 ? 0 : x[src]; });
  },

  col2im(cols, batch, g, dx) {
    dx.fill(0, 0, batch * g.channels * g.height * g.width);
    forEachTap(batch, g, (src, dst) => { if (src >= 0) dx[src] += cols[dst]; });
  },

  swapAxes01(x, d0, d1, inner, out) {
    for (let i = 0; i < d0; i++) {
      for (let j = 0; j < d1; j++) {
        const from = (i * d1 + j) * inner, to = (j * d0 + i) * inner;
        for (let t = 0; t < inner; t++) out[to + t] = x[from + t];
      }
    }
  },

  maxPool(x, planes, g, y, argmax) {
    const plane = g.height * g.width;
    forEachWindowPixel(planes, g, (o) => { y[o] = -Infinity; argmax[o] = -1; }, (src, o) => {
      // As PyTorch's CPU kernel: strictly greater, so the first maximum in row-major window
      // order wins a tie, and any NaN is taken (the last one), so a NaN is never hidden.
      if (x[src] > y[o] || argmax[o] < 0 || Number.isNaN(x[src])) { y[o] = x[src]; argmax[o] = src % plane; }
    });
  },

  maxPoolBackward(dy, argmax, planes, g, dx) {
    const plane = g.height * g.width, outPlane = g.outHeight * g.outWidth;
    dx.fill(0, 0, planes * plane);
    for (let p = 0; p < planes; p++) {
      for (let o = 0; o < outPlane; o++) dx[p * plane + argmax[p * outPlane + o]] += dy[p * outPlane + o];
    }
  },

  avgPool(x, planes, g, y) {
    const area = g.kernelHeight * g.kernelWidth;
    let sum = 0;
    forEachWindowPixel(planes, g, () => { sum = 0; }, (src) => { sum += x[src]; }, (o) => { y[o] = sum / area; });
  },

  avgPoolBackward(dy, planes, g, dx) {
    const area = g.kernelHeight * g.kernelWidth;
    dx.fill(0, 0, planes * g.height * g.width);
    forEachWindowPixel(planes, g, () => {}, (src, o) => { dx[src] += dy[o] / area; });
  },

  channelMoments(x, n, c, s, mean, variance) {
    const count = n * s;
    for (let ch = 0; ch < c; ch++) {
      let sum = 0;
      for (let b = 0; b < n; b++) for (let t = 0, o = (b * c + ch) * s; t < s; t++) sum += x[o + t];
      const mu = sum / count;
      let sq = 0;
      for (let b = 0; b < n; b++) for (let t = 0, o = (b * c + ch) * s; t < s; t++) sq += (x[o + t] - mu) ** 2;
      mean[ch] = mu;
      variance[ch] = sq / count;
    }
  },

  channelAffine(x, n, c, s, scale, shift, y, relu) {
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        const a = scale[ch], k = shift[ch], o = (b * c + ch) * s;
        for (let t = 0; t < s; t++) {
          const v = a * x[o + t] + k;
          y[o + t] = relu && !(v > 0) ? 0 : v;
        }
      }
    }
  },

  channelSums(a, b, n, c, s, center, mask, sumA, sumAB) {
    const masked = mask.length > 0;
    for (let ch = 0; ch < c; ch++) {
      let sa = 0, sab = 0;
      const mid = center[ch];
      for (let r = 0; r < n; r++) {
        for (let t = 0, o = (r * c + ch) * s; t < s; t++) {
          const v = masked && !(mask[o + t] > 0) ? 0 : a[o + t];
          sa += v;
          sab += v * (b[o + t] - mid);
        }
      }
      sumA[ch] += sa;
      sumAB[ch] += sab;
    }
  },

  channelCombine(a, b, n, c, s, alpha, beta, gamma, mask, out) {
    const masked = mask.length > 0;
    for (let r = 0; r < n; r++) {
      for (let ch = 0; ch < c; ch++) {
        const p = alpha[ch], q = beta[ch], k = gamma[ch], o = (r * c + ch) * s;
        for (let t = 0; t < s; t++) {
          const v = masked && !(mask[o + t] > 0) ? 0 : a[o + t];
          out[o + t] = p * v + q * b[o + t] + k;
        }
      }
    }
  },
};
