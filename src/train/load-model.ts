/**
 * A saved model back in memory, from the model file's bytes (Trainer.save, `model.safetensors`
 * of a run directory, or a plain state_dict with `arch`): Node reads the file
 * (`loadModel(path)` in ridgeline/node), a page fetches it or takes it from a file input.
 */
import { decodeModelFile, loadTensors, type ArchOption } from '../format/model-file.js';
import type { Backend } from '../kernels/backend.js';
import { Sequential } from '../nn/sequential.js';

export interface LoadModelOptions {
  /**
   * Rows per forward pass in evaluate/predict. Default: the batch size the model was trained
   * with (from its metadata), else 256: a BLAS may round a row differently in a GEMM of another
   * height, and the training batch reproduces the run's test metrics exactly.
   */
  maxBatch?: number;
  /** The network of a plain state_dict (PyTorch's names), which carries none of its own. */
  arch?: ArchOption;
  /** Names the bytes in errors (a path or URL). Default 'model'. */
  what?: string;
}

export interface LoadedModel {
  model: Sequential;
  /** The file's `__metadata__`: `training` (the TrainConfig as JSON), `regularization`, `epoch`, and what the saver added. */
  metadata: Record<string, string>;
}

export function loadModelBytes(bytes: Uint8Array, backend: Backend, options: LoadModelOptions = {}): LoadedModel {
  const what = options.what ?? 'model';
  const file = decodeModelFile(bytes, what, options.arch);
  const model = new Sequential(file.spec, { backend, maxBatch: options.maxBatch ?? trainingBatch(file.metadata) ?? 256, seed: 0 });
  loadTensors(model.tensors, file.tensors, what);
  return { model, metadata: file.metadata };
}

function trainingBatch(metadata: Record<string, string>): number | undefined {
  try {
    const b = (JSON.parse(metadata.training ?? '{}') as { batchSize?: unknown }).batchSize;
    return typeof b === 'number' && Number.isInteger(b) && b > 0 ? b : undefined;
  } catch {
    return undefined;
  }
}
