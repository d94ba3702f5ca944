/**
 * The model file: safetensors holding every parameter and buffer (F32, PyTorch layout and
 * state_dict names: "dense1.weight", "conv1.weight" [F, C, k, k], "bn1.running_mean") and, in `__metadata__`, the architecture and the training config as JSON
 * strings. Any safetensors reader (Python's `safetensors`, Hugging Face tools) can load the
 * weights; ridgeline rebuilds the model from the architecture.
 */
import { DataError } from '../errors.js';
import type { ModelBuffer } from '../tensor/param.js';
import { paramShapes, validateSpec, type ModelSpec } from '../nn/spec.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.js';

export const MODEL_FORMAT = 'ridgeline-model/1';

export interface ModelFile {
  spec: ModelSpec;
  tensors: Map<string, NamedTensor>;
  /** Everything else in __metadata__ (training config, regularization summary, metrics). */
  metadata: Record<string, string>;
}

/** `tensors`: a model's parameters and buffers (Sequential.tensors). */
export function encodeModel(spec: ModelSpec, modelTensors: readonly ModelBuffer[], extra: Record<string, string> = {}): Uint8Array {
  const tensors: NamedTensor[] = modelTensors.map((p) => ({ name: p.name, dtype: 'F32', shape: [...p.shape], data: p.value }));
  return encodeSafetensors(tensors, { ...extra, format: MODEL_FORMAT, architecture: JSON.stringify(spec) });
}

export function decodeModel(bytes: Uint8Array, what: string): ModelFile {
  const { tensors, metadata } = decodeSafetensors(bytes, what);
  if (metadata.format !== MODEL_FORMAT) {
    throw new DataError(`${what} is a safetensors file but not a ridgeline model (its __metadata__ has no format "${MODEL_FORMAT}")`);
  }
  let spec: ModelSpec;
  try {
    spec = JSON.parse(metadata.architecture ?? '') as ModelSpec;
    validateSpec(spec);
  } catch (e) {
    throw new DataError(`${what}: the architecture in its metadata is invalid: ${(e as Error).message}`);
  }
  for (const [name, t] of tensors) {
    if (t.dtype !== 'F32') throw new DataError(`${what}: tensor ${name} is ${t.dtype}, expected F32`);
    const data = t.data as Float32Array;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) throw new DataError(`${what}: tensor ${name} holds ${data[i]} at index ${i}; a model's weights must be finite`);
    }
  }
  // Every parameter the architecture declares must be in the file with its shape: checked here,
  // before a model is built, so a small file declaring a huge layer allocates nothing.
  for (const p of paramShapes(spec)) {
    const t = tensors.get(p.name);
    if (!t) throw new DataError(`${what} has no tensor ${p.name} (its architecture needs it)`);
    if (t.shape.join() !== p.shape.join()) throw new DataError(`${what}: tensor ${p.name} has shape [${t.shape}], the architecture needs [${p.shape}]`);
  }
  return { spec, tensors, metadata };
}

/** Copies file tensors into a freshly built model's parameters and buffers, checking names and shapes both ways. */
export function loadTensors(params: readonly ModelBuffer[], tensors: Map<string, NamedTensor>, what: string): void {
  for (const p of params) {
    const t = tensors.get(p.name);
    if (!t) throw new DataError(`${what} has no tensor ${p.name} (its architecture needs it)`);
    if (t.shape.join() !== p.shape.join()) {
      throw new DataError(`${what}: tensor ${p.name} has shape [${t.shape}], the architecture needs [${p.shape}]`);
    }
    p.value.set(t.data as Float32Array);
  }
  const known = new Set(params.map((p) => p.name));
  const extra = [...tensors.keys()].filter((k) => !known.has(k));
  if (extra.length > 0) throw new DataError(`${what} has tensors the architecture does not use: ${extra.join(', ')}`);
}
