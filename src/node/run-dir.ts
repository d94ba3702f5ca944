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
import { decodeModelFile, type ArchOption, type ModelFile } from '../format/model-file.js';
import type { Backend } from '../kernels/backend.js';
import { loadModelBytes, type LoadedModel, type LoadModelOptions } from '../train/load-model.js';
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
  await atomicWriteFile(join(dir, INIT_MODEL_FILE), trainer.save(modelMetadata));
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
  const model = trainer.save(modelMetadata);
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
 * Rebuilds a saved model for evaluation or prediction (loadModelBytes on the file's bytes;
 * errors name the path).
 */
export async function loadModel(path: string, backend: Backend, options: Omit<LoadModelOptions, 'what'> = {}): Promise<LoadedModel> {
  return loadModelBytes(await readFileBytes(path, path), backend, { ...options, what: path });
}

/** A model file's spec and tensors (decodeModelFile on the file's bytes). */
export async function readModelTensors(path: string, arch?: ArchOption): Promise<ModelFile> {
  return decodeModelFile(await readFileBytes(path, path), path, arch);
}
