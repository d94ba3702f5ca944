/**
 * Evaluation and prediction with a built model: forward passes in eval mode over chunks of
 * at most the model's batch size.
 */
import type { Dataset } from '../data/dataset.js';
import { ConfigError } from '../errors.js';
import { SoftmaxCrossEntropy } from '../loss/softmax-cross-entropy.js';
import type { Sequential } from '../nn/sequential.js';

export interface Evaluation {
  /** Mean cross-entropy. */
  loss: number;
  accuracy: number;
  count: number;
}

/** Index of the largest logit in row r. */
export function argmaxRow(logits: Float32Array, r: number, cols: number): number {
  let best = 0;
  const o = r * cols;
  for (let j = 1; j < cols; j++) if (logits[o + j] > logits[o + best]) best = j;
  return best;
}

export function evaluate(model: Sequential, data: Dataset): Evaluation {
  if (data.features !== model.spec.inputSize) throw new ConfigError(`evaluate: the model expects ${model.spec.inputSize} features per example, the data has ${data.features}`);
  if (data.classes !== model.spec.classes) throw new ConfigError(`evaluate: the model has ${model.spec.classes} classes, the data has ${data.classes}`);
  const { backend, maxBatch } = model.options;
  const classes = model.spec.classes;
  const loss = new SoftmaxCrossEntropy(backend, classes, maxBatch);
  let total = 0, correct = 0;
  for (let start = 0; start < data.count; start += maxBatch) {
    const batch = Math.min(maxBatch, data.count - start);
    const x = data.images.subarray(start * data.features, (start + batch) * data.features);
    const y = data.labels.subarray(start, start + batch);
    const logits = model.forward(x, batch, false);
    total += loss.forwardBackward(logits, y, batch) * batch;
    for (let r = 0; r < batch; r++) if (argmaxRow(logits, r, classes) === y[r]) correct++;
  }
  return { loss: data.count > 0 ? total / data.count : NaN, accuracy: data.count > 0 ? correct / data.count : NaN, count: data.count };
}

export interface Prediction {
  label: number;
  probabilities: Float32Array;
}

/** Class probabilities (softmax of the logits) for `count` examples of `features` values each. */
export function predict(model: Sequential, images: Float32Array, count: number): Prediction[] {
  const { maxBatch } = model.options;
  const classes = model.spec.classes, features = model.spec.inputSize;
  if (!(Number.isInteger(count) && count >= 0)) throw new ConfigError(`predict: count must be a non-negative integer, got ${count}`);
  if (images.length !== count * features) {
    throw new ConfigError(`predict: ${count} examples of ${features} features need ${count * features} values, images has ${images.length}`);
  }
  const out: Prediction[] = [];
  for (let start = 0; start < count; start += maxBatch) {
    const batch = Math.min(maxBatch, count - start);
    const logits = model.forward(images.subarray(start * features, (start + batch) * features), batch, false);
    for (let r = 0; r < batch; r++) {
      const probabilities = softmaxRow(logits, r, classes);
      out.push({ label: argmaxRow(logits, r, classes), probabilities });
    }
  }
  return out;
}

function softmaxRow(logits: Float32Array, r: number, cols: number): Float32Array {
  const o = r * cols, p = new Float32Array(cols);
  let max = -Infinity, sum = 0;
  for (let j = 0; j < cols; j++) max = Math.max(max, logits[o + j]);
  for (let j = 0; j < cols; j++) sum += Math.exp(logits[o + j] - max);
  for (let j = 0; j < cols; j++) p[j] = Math.exp(logits[o + j] - max) / sum;
  return p;
}
