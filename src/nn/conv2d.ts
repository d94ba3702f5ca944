/**
 * 2-D convolution (PyTorch `nn.Conv2d`, dilation 1, groups 1): y = W ⋆ x + b over NCHW
 * images. One layer is one GEMM: im2col unfolds the whole batch into cols[C·k·k, B·P]
 * (P = outH·outW output positions), W[F, C·k·k] · cols gives y in [F, B, P] order, and one
 * transpose makes it NCHW [B, F, P]. A batch-wide GEMM (F × B·P × C·k·k) is large enough
 * for the BLAS to use both cores, where per-image GEMMs would each be too small.
 */
import type { ConvGeometry } from '../kernels/backend.js';
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
  private readonly cols: Float32Array;    // [C·k·k, maxBatch·P]; reused for dcols in backward
  private readonly yT: Float32Array;      // [F, maxBatch·P]; reused for dyT in backward
  private readonly y: Activations;        // [batch, F, outH, outW]
  private readonly dx: Activations;       // [batch, C, H, W]
  private readonly ones: Float32Array;    // [max(F, maxBatch·P)] of 1: the bias add's scale, and the bias gradient's row sums

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
    this.weight = createParam(`${name}.weight`, [filters, channels, kernel, kernel], 'conv-kernel');
    this.bias = createParam(`${name}.bias`, [filters], 'bias');
    this.params = [this.weight, this.bias];
    this.cols = new Float32Array(this.patch * ctx.maxBatch * this.positions);
    this.yT = new Float32Array(filters * ctx.maxBatch * this.positions);
    this.y = new Activations(ctx.maxBatch, this.outputSize);
    this.dx = new Activations(ctx.maxBatch, this.inputSize);
    this.ones = new Float32Array(Math.max(filters, ctx.maxBatch * this.positions)).fill(1);
  }

  /** fan-in C·k² and fan-out F·k², for initializers. */
  get fans(): [number, number] {
    const k2 = this.geometry.kernel ** 2;
    return [this.geometry.channels * k2, this.filters * k2];
  }

  forward(x: Float32Array, batch: number): Float32Array {
    const { backend } = this.ctx;
    const F = this.filters, BP = batch * this.positions;
    backend.im2col(x, batch, this.geometry, this.cols);
    // yT[F, B·P] = W[F, C·k·k] · cols[C·k·k, B·P], then + b[f] on row f
    backend.gemm(false, false, F, BP, this.patch, 1, this.weight.value, this.cols, 0, this.yT);
    backend.channelAffine(this.yT, 1, F, BP, this.ones, this.bias.value, this.yT);
    const y = this.y.rows(batch);
    backend.swapAxes01(this.yT, F, batch, this.positions, y);
    return y;
  }

  backward(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array {
    const { backend } = this.ctx;
    const F = this.filters, BP = batch * this.positions;
    const dyT = this.yT;
    backend.swapAxes01(dy, batch, F, this.positions, dyT); // [B, F, P] → [F, B, P]
    // dW[F, C·k·k] += dyT[F, B·P] · colsᵀ;  db[F] += dyT · 1 (row sums, as a GEMV)
    backend.gemm(false, true, F, this.patch, BP, 1, dyT, this.cols, 1, this.weight.grad);
    backend.gemm(false, false, F, 1, BP, 1, dyT, this.ones, 1, this.bias.grad);
    if (!needInputGrad) return NO_GRAD;
    // dcols[C·k·k, B·P] = Wᵀ · dyT (cols is free again: the weight gradient has read it)
    const dcols = this.cols;
    backend.gemm(true, false, this.patch, BP, F, 1, this.weight.value, dyT, 0, dcols);
    const dx = this.dx.rows(batch);
    backend.col2im(dcols, batch, this.geometry, dx);
    return dx;
  }
}
