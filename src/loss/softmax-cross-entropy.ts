/**
 * Softmax cross-entropy, fused and stable (log-sum-exp with the row max subtracted), mean over
 * the batch: the data term (1/B)·Σ CE of the seed objective. Matches PyTorch's
 * `nn.CrossEntropyLoss()` with its default reduction='mean'.
 */
import type { Backend } from '../kernels/backend.js';
import { Activations } from '../nn/layer.js';

export class SoftmaxCrossEntropy {
  private readonly dlogits: Activations; // [batch, classes]

  constructor(private readonly backend: Backend, readonly classes: number, maxBatch: number) {
    this.dlogits = new Activations(maxBatch, classes, backend);
  }

  /**
   * Returns the mean loss and leaves the gradient of that mean with respect to the logits in
   * `grad(batch)` (returned by value rather than in an object so the hot loop allocates nothing).
   */
  forwardBackward(logits: Float32Array, labels: Int32Array, batch: number): number {
    const sum = this.backend.softmaxCrossEntropy(logits, labels, batch, this.classes, this.dlogits.rows(batch), 1 / batch);
    return sum / batch;
  }

  /** d(mean CE)/d(logits) from the last forwardBackward, batch × classes. */
  grad(batch: number): Float32Array {
    return this.dlogits.rows(batch);
  }
}
