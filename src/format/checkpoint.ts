/**
 * The checkpoint file: a safetensors file holding the trainer's whole state — parameters and
 * buffers such as BatchNorm's running statistics ("param/<name>"), optimizer state ("opt/<path>"), and in `__metadata__` the epoch, step,
 * RNG states, optimizer scalars, metrics history and the run's config — so `--resume`
 * continues bit-identically after a kill.
 */
import { z } from 'zod';
import { DataError } from '../errors.js';
import type { TrainerState } from '../train/trainer.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.js';

export const CHECKPOINT_FORMAT = 'ridgeline-checkpoint/1';

export function encodeCheckpoint(state: TrainerState, config: unknown): Uint8Array {
  const tensors: NamedTensor[] = [];
  for (const [name, data] of state.params) tensors.push({ name: `param/${name}`, dtype: 'F32', shape: [data.length], data });
  for (const [path, data] of state.optimizer.tensors) tensors.push({ name: `opt/${path}`, dtype: 'F32', shape: [data.length], data });
  return encodeSafetensors(tensors, {
    format: CHECKPOINT_FORMAT,
    epoch: String(state.epoch),
    step: String(state.step),
    rng: JSON.stringify(state.rng),
    optimizer_scalars: JSON.stringify(state.optimizer.scalars),
    history: JSON.stringify(state.history),
    config: JSON.stringify(config),
  });
}

export function decodeCheckpoint(bytes: Uint8Array, what: string): { state: TrainerState; config: unknown } {
  const { tensors, metadata } = decodeSafetensors(bytes, what);
  if (metadata.format !== CHECKPOINT_FORMAT) throw new DataError(`${what} is not a ridgeline checkpoint`);
  const json = (key: string): any => {
    try {
      return JSON.parse(metadata[key]);
    } catch {
      throw new DataError(`${what}: checkpoint metadata '${key}' is missing or not JSON`);
    }
  };
  const params = new Map<string, Float32Array>(), opt = new Map<string, Float32Array>();
  for (const [name, t] of tensors) {
    if (t.dtype !== 'F32') throw new DataError(`${what}: tensor ${name} is ${t.dtype}, expected F32`);
    if (name.startsWith('param/')) params.set(name.slice(6), t.data as Float32Array);
    else if (name.startsWith('opt/')) opt.set(name.slice(4), t.data as Float32Array);
    else throw new DataError(`${what}: unexpected tensor ${name}`);
  }
  const epoch = Number(metadata.epoch), step = Number(metadata.step);
  if (!Number.isInteger(epoch) || !Number.isInteger(step) || epoch < 0 || step < 0 || epoch > 1e7 || step > 1e12) {
    throw new DataError(`${what}: checkpoint epoch/step are not non-negative integers (epoch ${metadata.epoch}, step ${metadata.step})`);
  }
  const checked = <T>(key: string, schema: z.ZodType<T>): T => {
    const r = schema.safeParse(json(key));
    if (!r.success) throw new DataError(`${what}: checkpoint metadata '${key}' is malformed: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    return r.data;
  };
  const history = checked('history', z.array(epochMetrics));
  if (history.length !== epoch || history.some((h, i) => h.epoch !== i + 1)) {
    throw new DataError(`${what}: checkpoint history has ${history.length} epochs numbered ${history.map((h) => h.epoch).join(',') || 'none'}, but the checkpoint is after epoch ${epoch}`);
  }
  if (history.length > 0 && history[history.length - 1].step !== step) throw new DataError(`${what}: checkpoint step ${step} is not the last epoch's step ${history[history.length - 1].step}`);
  return {
    state: {
      epoch, step, params, history: history as TrainerState['history'],
      optimizer: { tensors: opt, scalars: checked('optimizer_scalars', z.record(z.string(), finite)) },
      rng: checked('rng', z.strictObject({ shuffle: rngState, dropout: rngState })) as TrainerState['rng'],
    },
    config: checked('config', z.looseObject({ options: z.record(z.string(), z.unknown()), train: z.looseObject({ model: z.looseObject({}), optimizer: z.looseObject({}) }) })),
  };
}

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const rngState = z.tuple([z.number().int().min(0).max(2 ** 32 - 1), z.number().int().min(0).max(2 ** 32 - 1), z.number().int().min(0).max(2 ** 32 - 1), z.number().int().min(0).max(2 ** 32 - 1)]);
const nullableFinite = finite.nullable();
const epochMetrics = z.looseObject({
  epoch: z.number().int().min(1), step: z.number().int().min(0), lr: finite, data_loss: finite, penalty: finite, total: finite,
  train_accuracy: finite, val_loss: nullableFinite, val_accuracy: nullableFinite, weight_norm_sq: finite, seconds: finite,
});
