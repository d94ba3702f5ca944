/**
 * 2-D convolution (PyTorch `nn.Conv2d`, dilation 1, groups 1): y = W ⋆ x + b over NCHW
 * images. One layer is one GEMM: im2col unfolds the whole batch into cols[C·k·k, B·P]
 * (P = outH·outW output positions), W[F, C·k·k] · cols gives y in [F, B, P] order, and one
 * transpose makes it NCHW [B, F, P]. A batch-wide GEMM (F × B·P × C·k·k) is large enough
 * for the BLAS to use both cores, where per-image GEMMs would each be too small.
 *
 * The bias rides in the GEMM: cols gets a last row of ones and W a last column b, so
 * [W | b] · [cols; 1] = W·cols + b, and in backward dy · [cols; 1]ᵀ = [dW | db]. That saves
 * a pass over the output in each direction (a bias add, a row-sum), which cost as much as
 * the first layer's whole GEMM (C·k·k = 9) on the CNN benchmark.
 */
import { floats, type ConvGeometry } from '../kernels/backend.js';
import { createParam, type Param } from '../tensor/param.js';
import { Activations, NO_GRAD, type Layer, type LayerContext } from './layer.js';

export class Conv2d implements Layer {
  readonly params: readonly Param[];
  readonly weight: Param; // [F, C, k, k]
  readonly bias: Param;   // [F]
  readonly inputSize: number;
  readonly outputSize: number;
  readonly geometry: ConvGeometry;
  private readonly positions: number;     // P = outH·outW
  private readonly patch: number;         // C·k·k, one column of cols
  private readonly cols: Float32Array;    // [C·k·k + 1, batch·P], the last row ones; rows < C·k·k reused for dcols in backward
  private readonly yT: Float32Array;      // [F, maxBatch·P]; reused for dyT in backward
  private readonly wb: Float32Array;      // [F, C·k·k + 1] = [W | b]
  private readonly dwb: Float32Array;     // [F, C·k·k + 1] = [dW | db] of one batch
  private readonly y: Activations;        // [batch, F, outH, outW]
  private readonly dx: Activations;       // [batch, C, H, W]

  constructor(readonly name: string, input: readonly number[], readonly filters: number, kernel: number,
    stride: number, padding: number, private readonly ctx: LayerContext) {
    const [channels, height, width] = input;
    const outHeight = Math.floor((height + 2 * padding - kernel) / stride) + 1;
    const outWidth = Math.floor((width + 2 * padding - kernel) / stride) + 1;
    this.geometry = { channels, height, width, kernel, stride, padding, outHeight, outWidth };
    this.positions = outHeight * outWidth;
    this.patch = channels * kernel * kernel;
    this.inputSize = channels * height * width;
    this.outputSize = filters * this.positions;
    this.weight = createParam(`${name}.weight`, [filters, channels, kernel, kernel], 'conv-kernel', ctx.backend);
    this.bias = createParam(`${name}.bias`, [filters], 'bias', ctx.backend);
    this.params = [this.weight, this.bias];
    // Through the backend, so the wasm backend computes on them in place instead of copying
    // them in and out at every call (82 M floats per CNN step at B = 128 before).
    this.cols = floats(ctx.backend, (this.patch + 1) * ctx.maxBatch * this.positions);
    this.yT = floats(ctx.backend, filters * ctx.maxBatch * this.positions);
    this.wb = floats(ctx.backend, filters * (this.patch + 1));
    this.dwb = floats(ctx.backend, filters * (this.patch + 1));
    this.y = new Activations(ctx.maxBatch, this.outputSize, ctx.backend);
    this.dx = new Activations(ctx.maxBatch, this.inputSize, ctx.backend);
  }

  /** fan-in C·k² and fan-out F·k², for initializers. */
  get fans(): [number, number] {
    const k2 = this.geometry.kernel ** 2;
    return [this.geometry.channels * k2, this.filters * k2];
  }

  forward(x: Float32Array, batch: number): Float32Array {
    const { backend } = this.ctx;
    const F = this.filters, K = this.patch, BP = batch * this.positions;
    backend.im2col(x, batch, this.geometry, this.cols);
    this.cols.fill(1, K * BP, (K + 1) * BP); // where the last row is depends on the batch
    const w = this.weight.value, b = this.bias.value, wb = this.wb;
    for (let f = 0; f < F; f++) {
      wb.set(w.subarray(f * K, (f + 1) * K), f * (K + 1));
      wb[f * (K + 1) + K] = b[f];
    }
    // yT[F, B·P] = [W | b] · [cols; 1]
    backend.gemm(false, false, F, BP, K + 1, 1, wb, this.cols, 0, this.yT);
    const y = this.y.rows(batch);
    backend.swapAxes01(this.yT, F, batch, this.positions, y);
    return y;
  }

  backward(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array {
    const { backend } = this.ctx;
    const F = this.filters, K = this.patch, BP = batch * this.positions;
    const dyT = this.yT;
    backend.swapAxes01(dy, batch, F, this.positions, dyT); // [B, F, P] → [F, B, P]
    // [dW | db][F, C·k·k + 1] = dyT[F, B·P] · [cols; 1]ᵀ
    const dwb = this.dwb, dw = this.weight.grad, db = this.bias.grad;
    backend.gemm(false, true, F, K + 1, BP, 1, dyT, this.cols, 0, dwb);
    for (let f = 0; f < F; f++) {
      for (let j = 0; j < K; j++) dw[f * K + j] += dwb[f * (K + 1) + j];
      db[f] += dwb[f * (K + 1) + K];
    }
    if (!needInputGrad) return NO_GRAD;
    // dcols[C·k·k, B·P] = Wᵀ · dyT (cols' first C·k·k rows are free again: the weight gradient has read them)
    const dcols = this.cols;
    backend.gemm(true, false, K, BP, F, 1, this.weight.value, dyT, 0, dcols);
    const dx = this.dx.rows(batch);
    backend.col2im(dcols, batch, this.geometry, dx);
    return dx;
  }
}
