/**
 * The kernel seam: every numeric loop the layers, the loss and the penalty need, behind one
 * typed interface. A backend is a value passed to the model and the trainer (never a global
 * registry), so a test can run the same model on two backends and compare.
 *
 * All matrices are dense, row-major Float32Arrays. Callers may pass subarray views; a kernel
 * reads and writes only the first `rows * cols` elements it is told about.
 */
export interface Backend {
  /** Short name printed by the CLI: "js", "wasm", "native". */
  readonly name: string;

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
