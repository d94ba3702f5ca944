/**
 * A run directory (`--out`): what a training run leaves behind, every file written atomically
 * so a kill at any moment leaves the previous complete version.
 *
 *   checkpoint.safetensors  trainer state after the last finished epoch (for --resume)
 *   model.safetensors       weights + architecture + config (for evaluate/predict, other tools)
 *   model-best.safetensors  with --keep best: the epoch with the lowest validation CE so far
 *   init.safetensors        the initial weights (written before the first epoch)
 *   metrics.jsonl           one line per finished epoch
 *   result.json             final test metrics, once training completes
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { decodeCheckpoint, encodeCheckpoint } from '../format/checkpoint.js';
import { decodeModel, encodeModel, loadTensors, mapStateDict, MODEL_FORMAT, type ModelFile } from '../format/model-file.js';
import { decodeSafetensors } from '../format/safetensors.js';
import { parseArch } from '../nn/spec.js';
import type { Backend } from '../kernels/backend.js';
import { Sequential } from '../nn/sequential.js';
import { bestEpoch } from '../train/early-stop.js';
import type { EpochMetrics, Trainer, TrainerState } from '../train/trainer.js';
import { atomicWriteFile, checkWritableDir, readFileBytes } from './files.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const MODEL_FILE = 'model.safetensors';
export const BEST_MODEL_FILE = 'model-best.safetensors';
/** The weights before the first step, for re-running the training elsewhere (`export --to pytorch`). */
export const INIT_MODEL_FILE = 'init.safetensors';
export const METRICS_FILE = 'metrics.jsonl';
export const RESULT_FILE = 'result.json';

/** The initial weights, once per run (a resumed run keeps the first one). */
export async function saveInitialModel(dir: string, trainer: Trainer, modelMetadata: Record<string, string>): Promise<void> {
  if (existsSync(join(dir, INIT_MODEL_FILE))) return;
  await atomicWriteFile(join(dir, INIT_MODEL_FILE), encodeModel(trainer.model.spec, trainer.model.tensors, { ...modelMetadata, epoch: '0' }));
}

/** Makes the run directory and checks files can be written there, before any training. */
export async function ensureRunDir(dir: string): Promise<void> {
  await checkWritableDir(dir);
}

/**
 * Writes metrics, model and checkpoint for the trainer's current (end-of-epoch) state; with
 * `keepBest`, also the model as model-best when this epoch has the lowest validation CE so far.
 */
export async function saveEpoch(dir: string, trainer: Trainer, runConfig: unknown, modelMetadata: Record<string, string>, keepBest = false): Promise<void> {
  const state = trainer.state();
  await atomicWriteFile(join(dir, METRICS_FILE), formatMetrics(state.history));
  const model = encodeModel(trainer.model.spec, trainer.model.tensors, { ...modelMetadata, epoch: String(state.epoch) });
  await atomicWriteFile(join(dir, MODEL_FILE), model);
  if (keepBest && bestEpoch(state.history)?.epoch === state.epoch) await atomicWriteFile(join(dir, BEST_MODEL_FILE), model);
  // The checkpoint goes last: a resume never starts from a state newer than the files above.
  await atomicWriteFile(join(dir, CHECKPOINT_FILE), encodeCheckpoint(state, runConfig));
}

export function formatMetrics(history: readonly EpochMetrics[]): string {
  return history.map((m) => JSON.stringify(m)).join('\n') + (history.length ? '\n' : '');
}

export async function saveResult(dir: string, result: unknown): Promise<void> {
  await atomicWriteFile(join(dir, RESULT_FILE), JSON.stringify(result, null, 2) + '\n');
}

export async function loadCheckpoint(dir: string): Promise<{ state: TrainerState; config: unknown; path: string }> {
  const path = join(dir, CHECKPOINT_FILE);
  const exists = await stat(path).then((s) => s.isFile(), () => false);
  if (!exists) {
    const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
    throw new DataError(isDir
      ? `no checkpoint to resume in ${dir} (expected ${path}; a run writes it after its first epoch)`
      : `cannot resume: ${dir} is not a run directory`);
  }
  return { ...decodeCheckpoint(await readFileBytes(path, path), path), path };
}

/**
 * Rebuilds a saved model for evaluation or prediction. Evaluation runs in chunks of the
 * training batch size by default: a BLAS may round a row differently in a GEMM of another
 * height, and the same chunks reproduce the test metrics of the run exactly.
 */
export async function loadModel(path: string, backend: Backend, maxBatch?: number, arch?: ArchOption): Promise<{ model: Sequential; metadata: Record<string, string> }> {
  const file = await readModelTensors(path, arch);
  const model = new Sequential(file.spec, { backend, maxBatch: maxBatch ?? trainingBatch(file.metadata) ?? 256, seed: 0 });
  loadTensors(model.tensors, file.tensors, path);
  return { model, metadata: file.metadata };
}

/** `--arch` for a file that is not a ridgeline model: the network, and the shape and classes of the data it reads. */
export interface ArchOption { text: string; inputShape: readonly number[]; classes: number }

/**
 * A model file's spec and tensors: a ridgeline model as it is, or (with `arch`) a plain
 * state_dict saved as safetensors by PyTorch, mapped onto the architecture by order and shape.
 */
export async function readModelTensors(path: string, arch?: ArchOption): Promise<ModelFile> {
  const bytes = await readFileBytes(path, path);
  const { tensors, metadata } = decodeSafetensors(bytes, path);
  if (metadata.format === MODEL_FORMAT) return decodeModel(bytes, path);
  if (!arch) throw new DataError(`${path} is a safetensors file but not a ridgeline model (no format "${MODEL_FORMAT}" in its metadata); to read a plain state_dict (PyTorch's), give its network with --arch`);
  const spec = parseArch(arch.text, arch.inputShape, arch.classes);
  return { spec, tensors: mapStateDict(tensors, spec, path), metadata };
}

function trainingBatch(metadata: Record<string, string>): number | undefined {
  try {
    const b = (JSON.parse(metadata.training ?? '{}') as { batchSize?: unknown }).batchSize;
    return typeof b === 'number' && Number.isInteger(b) && b > 0 ? b : undefined;
  } catch {
    return undefined;
  }
}
