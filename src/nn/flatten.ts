/**
 * Flatten: C×H×W → C·H·W. Activations are already stored flat per example in NCHW order (the
 * order PyTorch's `nn.Flatten` produces), so this layer only changes the declared shape.
 */
import type { Param } from '../tensor/param.js';
import { NO_GRAD, type Layer } from './layer.js';

export class Flatten implements Layer {
  readonly params: readonly Param[] = [];
  readonly outputSize: number;

  constructor(readonly name: string, readonly inputSize: number) {
    this.outputSize = inputSize;
  }

  forward(x: Float32Array): Float32Array {
    return x;
  }

  backward(dy: Float32Array, _batch: number, needInputGrad: boolean): Float32Array {
    return needInputGrad ? dy : NO_GRAD;
  }
}
