/**
 * The checkpoint file: a safetensors file holding the trainer's whole state — parameters and
 * buffers such as BatchNorm's running statistics ("param/<name>"), optimizer state ("opt/<path>"), and in `__metadata__` the epoch, step,
 * RNG states, optimizer scalars, metrics history and the run's config — so `--resume`
 * continues bit-identically after a kill.
 */
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
  if (!Number.isInteger(epoch) || !Number.isInteger(step)) throw new DataError(`${what}: checkpoint epoch/step are not integers`);
  return {
    state: { epoch, step, params, optimizer: { tensors: opt, scalars: json('optimizer_scalars') }, rng: json('rng'), history: json('history') },
    config: json('config'),
  };
}
