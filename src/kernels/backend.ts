/**
 * The kernel seam: every numeric loop the layers, the loss and the penalty need, behind one
 * typed interface. A backend is a value passed to the model and the trainer (never a global
 * registry), so a test can run the same model on two backends and compare.
 *
 * All matrices are dense, row-major Float32Arrays. Callers may pass subarray views; a kernel
 * reads and writes only the first `rows * cols` elements it is told about.
 */
/** The empty mask of channelSums and channelCombine: no ReLU fused in. */
export const NO_MASK = new Float32Array(0);

export interface Backend {
  /** Short name printed by the CLI: "js", "wasm", "native". */
  readonly name: string;

  /**
   * A zeroed buffer of n elements that this backend's kernels use where it lies, without
   * copying it in and out (the wasm backend over a shared memory: its own linear memory).
   * Absent where every Float32Array is as good (js, native). Models allocate their parameters,
   * gradients, activations and optimizer state through it (`floats`). The block is reclaimed
   * when the returned array is garbage: a subarray does not keep it alive, so hold the array
   * itself. Kernel arguments must not overlap unless a method says so (copies used to hide
   * that).
   */
  alloc?(n: number): Float32Array;

  /**
   * C ← α·op(A)·op(B) + β·C, where op(A) is m×k and op(B) is k×n (BLAS sgemm, row-major).
   * With transA, A is stored k×m; with transB, B is stored n×k. β = 0 ignores C's old
   * contents entirely (NaN in C does not propagate), as BLAS does.
   */
  gemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number,
    alpha: number, a: Float32Array, b: Float32Array, beta: number, c: Float32Array,
  ): void;

  /** y[r, j] += bias[j] for r < rows, j < cols. */
  addRowVector(y: Float32Array, bias: Float32Array, rows: number, cols: number): void;
  /** out[j] += Σ_r x[r, j]: the bias gradient. */
  sumRowsInto(x: Float32Array, rows: number, cols: number, out: Float32Array): void;

  /** y = max(x, 0). */
  relu(x: Float32Array, y: Float32Array, n: number): void;
  /** dx = dy where y > 0 else 0 (y is the forward output). */
  reluBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, n: number): void;
  /** y = tanh(x). */
  tanh(x: Float32Array, y: Float32Array, n: number): void;
  /** dx = dy·(1 − y²) (y is the forward output). */
  tanhBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, n: number): void;
  /** y = x·Φ(x), the exact (erf) GELU, as PyTorch's default `nn.GELU()`. */
  gelu(x: Float32Array, y: Float32Array, n: number): void;
  /** dx = dy·(Φ(x) + x·φ(x)) (x is the forward input). */
  geluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, n: number): void;
  /** out = a ⊙ b (elementwise). */
  mul(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void;

  /**
   * Fused, stable softmax cross-entropy over `rows` rows of `cols` logits.
   * Writes dlogits = scale·(softmax(logits) − onehot(labels)) and returns Σ_rows CE
   * (a float64 sum; the caller divides by the batch for the mean).
   * Labels must be in [0, cols); the caller validates data at load time.
   */
  softmaxCrossEntropy(
    logits: Float32Array, labels: Int32Array, rows: number, cols: number,
    dlogits: Float32Array, scale: number,
  ): number;
  /** Σ x[i]² in float64. */
  sumSquares(x: Float32Array, n: number): number;

  // ---- convolution and pooling (NCHW; `geometry` describes one image plane) -------------

  /**
   * Unfolds `batch` images x[batch, C, H, W] into cols[C·k·k, batch·outH·outW]: row (c, i, j)
   * holds, for every output position of every image, the input pixel under kernel tap (i, j)
   * of channel c (0 in the zero padding). Then conv = W[F, C·k·k] · cols, one GEMM per layer.
   */
  im2col(x: Float32Array, batch: number, g: ConvGeometry, cols: Float32Array): void;
  /** The adjoint of im2col: dx[batch, C, H, W] = Σ of cols' entries over the taps that read each pixel (overwrites dx). */
  col2im(cols: Float32Array, batch: number, g: ConvGeometry, dx: Float32Array): void;
  /** out[j, i, :] = x[i, j, :] for x of shape [d0, d1, inner]: [F, batch, HW] ↔ [batch, F, HW]. */
  swapAxes01(x: Float32Array, d0: number, d1: number, inner: number, out: Float32Array): void;

  /**
   * Max over each window of `planes` H×W planes; argmax[o] records the input index (within its
   * plane) of each output. Ties go to the first in row-major window order; a NaN wins (PyTorch).
   */
  maxPool(x: Float32Array, planes: number, g: PoolGeometry, y: Float32Array, argmax: Int32Array): void;
  /** dx = 0, then dx[argmax] += dy per output (overlapping windows accumulate). */
  maxPoolBackward(dy: Float32Array, argmax: Int32Array, planes: number, g: PoolGeometry, dx: Float32Array): void;
  /** Mean over each window (no padding, so every window has k·k pixels). */
  avgPool(x: Float32Array, planes: number, g: PoolGeometry, y: Float32Array): void;
  /** dx = 0, then each output's dy/(kh·kw) spread over its window. */
  avgPoolBackward(dy: Float32Array, planes: number, g: PoolGeometry, dx: Float32Array): void;

  // ---- per-channel reductions and maps over x[n, c, s] (BatchNorm, LayerNorm, conv bias) ---

  /** mean[c] and biased variance[c] over the n·s values of each channel (float64, two-pass). */
  channelMoments(x: Float32Array, n: number, c: number, s: number, mean: Float32Array, variance: Float32Array): void;
  /**
   * y = scale[c]·x + shift[c], then max(·, 0) when `relu` (NaN → 0, as `relu`): a norm
   * layer's output, with the ReLU after it fused in. y may be x.
   */
  channelAffine(x: Float32Array, n: number, c: number, s: number, scale: Float32Array, shift: Float32Array, y: Float32Array,
    relu: boolean): void;
  /**
   * With a' = a where mask > 0 and 0 elsewhere (a' = a when `mask` is empty, length 0):
   * sumA[c] += Σ a'; sumAB[c] += Σ a'·(b − center[c]), in float64. A norm layer's gradients:
   * a = dy, b = its input x, center = the mean μ, so Σ dy·(x − μ) needs no normalized copy of
   * x and does not cancel; mask = the fused ReLU's output (a' = ReLU's backward of dy).
   */
  channelSums(a: Float32Array, b: Float32Array, n: number, c: number, s: number, center: Float32Array, mask: Float32Array,
    sumA: Float32Array, sumAB: Float32Array): void;
  /** out = α[c]·a' + β[c]·b + γ[c], a' as in channelSums: a norm layer's input gradient in one pass. out may be a or b. */
  channelCombine(a: Float32Array, b: Float32Array, n: number, c: number, s: number,
    alpha: Float32Array, beta: Float32Array, gamma: Float32Array, mask: Float32Array, out: Float32Array): void;

  /**
   * One optimizer step of one parameter in a single pass over its n elements: runs `program`
   * (ops of the vocabulary in ./optimizer-ops.ts, built by optim/fused.ts from the transform
   * chain) on u, then w ← w + u. `u` holds the gradient on entry and the applied update on
   * return; `state` lists the ops' buffers (momentum, Adam's m and v) in program order and is
   * updated in place. Each op computes in float64 and rounds to float32 where it stores, so
   * every backend gives the bit-identical result of the TypeScript transforms. The arrays must
   * not overlap; a malformed program (unknown opcode, wrong number of state buffers) throws
   * before anything is written.
   */
  optimizerStep(w: Float32Array, u: Float32Array, n: number, program: Float64Array, state: readonly Float32Array[]): void;
}

/** One convolution's geometry: C×H×W in, F×outH×outW out, a k×k kernel (filters F live in the layer). */
export interface ConvGeometry {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
  readonly outHeight: number;
  readonly outWidth: number;
}

/** One pooling's geometry over an H×W plane: a kh×kw window moved by `stride`, no padding. */
export interface PoolGeometry {
  readonly height: number;
  readonly width: number;
  readonly kernelHeight: number;
  readonly kernelWidth: number;
  readonly stride: number;
  readonly outHeight: number;
  readonly outWidth: number;
}

/** n zeroed floats from the backend's allocator when it has one, else a plain Float32Array. */
export function floats(backend: Backend | undefined, n: number): Float32Array {
  return backend?.alloc ? backend.alloc(n) : new Float32Array(n);
}

/** Each Int32 view of a backend block keeps the block's Float32Array (whose collection frees it) alive. */
const owners = new WeakMap<Int32Array, Float32Array>();

/** A zeroed Int32Array of n elements where the backend's kernels use it in place (max pooling's argmax). */
export function ints(backend: Backend | undefined, n: number): Int32Array {
  if (!backend?.alloc) return new Int32Array(n);
  const block = backend.alloc(n);
  const view = new Int32Array(block.buffer, block.byteOffset, n);
  owners.set(view, block);
  return view;
}
