/**
 * The model file: safetensors holding every parameter and buffer (F32, PyTorch layout and
 * state_dict names: "dense1.weight", "conv1.weight" [F, C, k, k], "bn1.running_mean") and, in `__metadata__`, the architecture and the training config as JSON
 * strings. Any safetensors reader (Python's `safetensors`, Hugging Face tools) can load the
 * weights; ridgeline rebuilds the model from the architecture.
 */
import { DataError } from '../errors.js';
import type { ModelBuffer } from '../tensor/param.js';
import { layerNames, layerShapes, paramShapes, parseArch, validateSpec, type ModelSpec } from '../nn/spec.js';
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

/** How errors name the `arch` option of loadModelBytes and loadModel. */
export const ARCH_FIELD = 'options.arch';

/** The network of a file that is not a ridgeline model (a plain state_dict): its arch string, and the shape and classes of the data it reads. */
export interface ArchOption { text: string; inputShape: readonly number[]; classes: number }

/**
 * A model file's spec and tensors: a ridgeline model as it is, or (with `arch`) a plain
 * state_dict saved as safetensors by PyTorch, mapped onto the architecture by order and shape.
 */
export function decodeModelFile(bytes: Uint8Array, what: string, arch?: ArchOption): ModelFile {
  const { tensors, metadata } = decodeSafetensors(bytes, what);
  if (metadata.format === MODEL_FORMAT) return decodeModel(bytes, what);
  if (!arch) throw new DataError(`${what} is a safetensors file but not a ridgeline model (no format "${MODEL_FORMAT}" in its metadata); to read a plain state_dict (PyTorch's), give its network with ${ARCH_FIELD}`);
  const spec = parseArch(arch.text, arch.inputShape, arch.classes);
  return { spec, tensors: mapStateDict(tensors, spec, what), metadata };
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

/**
 * The tensors a model of this spec holds, in PyTorch's state_dict order: per layer, weight and
 * bias, then BatchNorm's running mean and variance.
 */
export function stateDictOrder(spec: ModelSpec): { name: string; shape: number[] }[] {
  const params = paramShapes(spec);
  const shapes = layerShapes(spec);
  const out: { name: string; shape: number[] }[] = [];
  const names = layerNames(spec);
  spec.layers.forEach((l, i) => {
    const name = names[i];
    out.push(...params.filter((p) => p.name.startsWith(`${name}.`)).map((p) => ({ name: p.name, shape: p.shape })));
    if (l.type === 'batchnorm') out.push({ name: `${name}.running_mean`, shape: [shapes[i][0]] }, { name: `${name}.running_var`, shape: [shapes[i][0]] });
  });
  return out;
}

/** Natural order of dotted names: numeric parts compare as numbers (`2.weight` before `10.weight`). */
function naturalCompare(a: string, b: string): number {
  const x = a.split('.'), y = b.split('.');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const nx = /^\d+$/.test(x[i]) ? Number(x[i]) : NaN, ny = /^\d+$/.test(y[i]) ? Number(y[i]) : NaN;
    const c = !Number.isNaN(nx) && !Number.isNaN(ny) ? nx - ny : x[i] < y[i] ? -1 : x[i] > y[i] ? 1 : 0;
    if (c !== 0) return c;
  }
  return x.length - y.length;
}

/** PyTorch's order of one module's tensors: weight, bias, running_mean, running_var. */
const SUFFIX_ORDER = ['weight', 'bias', 'running_mean', 'running_var'];

/**
 * A plain state_dict saved as safetensors by another framework (PyTorch names such as
 * `0.weight`, `1.running_mean`, `features.0.weight`) as the tensors of a ridgeline model of
 * `spec`: matched by order (modules in natural name order, each module's tensors in PyTorch's
 * order) and checked by shape; `num_batches_tracked` is dropped; half precision is widened. On a
 * mismatch the error lists both sides.
 */
export function mapStateDict(tensors: Map<string, NamedTensor>, spec: ModelSpec, what: string): Map<string, NamedTensor> {
  const suffixRank = (n: string) => { const k = SUFFIX_ORDER.indexOf(n.slice(n.lastIndexOf('.') + 1)); return k < 0 ? SUFFIX_ORDER.length : k; };
  const module = (n: string) => n.slice(0, n.lastIndexOf('.'));
  const theirs = [...tensors.values()].filter((t) => !t.name.endsWith('num_batches_tracked'))
    .sort((a, b) => naturalCompare(module(a.name), module(b.name)) || suffixRank(a.name) - suffixRank(b.name));
  const ours = stateDictOrder(spec);
  const listing = () => `\n  the file:          ${theirs.map((t) => `${t.name} [${t.shape}]`).join(', ')}\n  the architecture:  ${ours.map((t) => `${t.name} [${t.shape}]`).join(', ')}`;
  if (theirs.length !== ours.length) throw new DataError(`${what} holds ${theirs.length} tensors, the architecture needs ${ours.length}:${listing()}`);
  const out = new Map<string, NamedTensor>();
  ours.forEach((o, i) => {
    const t = theirs[i];
    if (t.shape.join() !== o.shape.join()) throw new DataError(`${what}: tensor ${i + 1}, ${t.name} [${t.shape}], does not fit ${o.name} [${o.shape}]:${listing()}`);
    const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
    for (let j = 0; j < data.length; j++) {
      if (!Number.isFinite(data[j])) throw new DataError(`${what}: tensor ${t.name} holds ${data[j]} at index ${j}; a model's weights must be finite`);
    }
    out.set(o.name, { name: o.name, dtype: 'F32', shape: [...o.shape], data });
  });
  return out;
}
