/**
 * Dense (fully connected): y = x·Wᵀ + b. W is stored [out, in], PyTorch's `nn.Linear`
 * layout, so weights load into and out of PyTorch without a transpose.
 */
import { createParam, type Param } from '../tensor/param.js';
import { Activations, NO_GRAD, type Layer, type LayerContext } from './layer.js';

export class Dense implements Layer {
  readonly params: readonly Param[];
  readonly weight: Param; // [out, in]
  readonly bias: Param;   // [out]
  private readonly y: Activations;  // [batch, out]
  private readonly dx: Activations; // [batch, in]
  private x: Float32Array = NO_GRAD; // the last forward input, [batch, in]

  constructor(readonly name: string, readonly inputSize: number, readonly outputSize: number, private readonly ctx: LayerContext) {
    this.weight = createParam(`${name}.weight`, [outputSize, inputSize], 'dense-weight', ctx.backend);
    this.bias = createParam(`${name}.bias`, [outputSize], 'bias', ctx.backend);
    this.params = [this.weight, this.bias];
    this.y = new Activations(ctx.maxBatch, outputSize, ctx.backend);
    this.dx = new Activations(ctx.maxBatch, inputSize, ctx.backend);
  }

  forward(x: Float32Array, batch: number): Float32Array {
    const { backend } = this.ctx;
    this.x = x;
    const y = this.y.rows(batch);
    backend.gemm(false, true, batch, this.outputSize, this.inputSize, 1, x, this.weight.value, 0, y);
    backend.addRowVector(y, this.bias.value, batch, this.outputSize);
    return y;
  }

  backward(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array {
    const { backend } = this.ctx;
    // dW[out, in] += dyᵀ[out, batch] · x[batch, in];  db[out] += Σ_batch dy
    backend.gemm(true, false, this.outputSize, this.inputSize, batch, 1, dy, this.x, 1, this.weight.grad);
    backend.sumRowsInto(dy, batch, this.outputSize, this.bias.grad);
    if (!needInputGrad) return NO_GRAD;
    // dx[batch, in] = dy[batch, out] · W[out, in]
    const dx = this.dx.rows(batch);
    backend.gemm(false, false, batch, this.inputSize, this.outputSize, 1, dy, this.weight.value, 0, dx);
    return dx;
  }
}
