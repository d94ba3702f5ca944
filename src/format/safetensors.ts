/**
 * The Hugging Face safetensors container: an 8-byte little-endian uint64 header length N, N bytes
 * of UTF-8 JSON, then the tensors' raw little-endian bytes. Pure (no Node APIs) so a browser can
 * read models too; the Node file plumbing lives in node/files.ts.
 *
 * Spec: https://github.com/huggingface/safetensors (README "Format"). Where the spec is silent we
 * follow the reference Rust implementation: the header is padded with spaces so the data section
 * starts on an 8-byte boundary, headers over 100 MB are rejected, and the tensors must cover the
 * data section exactly (no overlaps, no holes, no trailing bytes).
 */
import { DataError } from '../errors.js';

export type SafetensorsDtype = 'F32' | 'F64' | 'I32' | 'U8' | 'I64' | 'F16' | 'BF16';

export interface NamedTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | Float64Array | Int32Array | Uint8Array;
}

type TensorData = NamedTensor['data'];

/**
 * I64 is part of the dtype union but not read or written: it would need BigInt64Array in
 * `NamedTensor.data`, and every numeric consumer would then have to handle bigint.
 */
const SUPPORTED = {
  F32: { itemsize: 4, tag: 'Float32Array', make: (b: ArrayBuffer): TensorData => new Float32Array(b) },
  F64: { itemsize: 8, tag: 'Float64Array', make: (b: ArrayBuffer): TensorData => new Float64Array(b) },
  I32: { itemsize: 4, tag: 'Int32Array', make: (b: ArrayBuffer): TensorData => new Int32Array(b) },
  U8: { itemsize: 1, tag: 'Uint8Array', make: (b: ArrayBuffer): TensorData => new Uint8Array(b) },
} as const;
type SupportedDtype = keyof typeof SUPPORTED;

function isSupported(dtype: unknown): dtype is SupportedDtype {
  return typeof dtype === 'string' && Object.hasOwn(SUPPORTED, dtype);
}

/**
 * Read, never written: half precision (F16, BF16), widened to Float32Array, and I64 (PyTorch's
 * BatchNorm `num_batches_tracked`), as a Float64Array. A tensor keeps its file dtype.
 */
const READ_ONLY = {
  F16: { itemsize: 2, make: (b: ArrayBuffer): TensorData => Float32Array.from(new Uint16Array(b), halfToFloat) },
  BF16: { itemsize: 2, make: (b: ArrayBuffer): TensorData => { const u = new Uint32Array(b.byteLength / 2); new Uint16Array(b).forEach((h, i) => { u[i] = h << 16; }); return new Float32Array(u.buffer); } },
  I64: { itemsize: 8, make: (b: ArrayBuffer): TensorData => Float64Array.from(new BigInt64Array(b), Number) },
} as const;
type ReadableDtype = SupportedDtype | keyof typeof READ_ONLY;
const readable = (dtype: unknown): dtype is ReadableDtype => isSupported(dtype) || (typeof dtype === 'string' && Object.hasOwn(READ_ONLY, dtype));
const reader = (dtype: ReadableDtype) => (isSupported(dtype) ? SUPPORTED[dtype] : READ_ONLY[dtype]);

/** IEEE 754 binary16 bits → number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const METADATA_KEY = '__metadata__';
/** The reference implementation's limit; a larger value means a corrupt or hostile file. */
const MAX_HEADER_BYTES = 100_000_000;
const HEADER_ALIGN = 8;

/**
 * Tensor bytes are copied to and from typed arrays as-is, which is correct only on little-endian
 * hosts. Every platform Node and browsers ship on is little-endian, so we fail loudly rather than
 * carry an untested byte-swapping path.
 */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function assertLittleEndianHost(): void {
  if (!HOST_IS_LITTLE_ENDIAN) {
    throw new Error('safetensors codec assumes a little-endian host');
  }
}

function typedArrayTag(data: unknown): string | undefined {
  // Symbol.toStringTag instead of instanceof: it also works for arrays from another realm
  // (worker, iframe, vm context).
  return ArrayBuffer.isView(data) ? (data as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag] : undefined;
}

function isShape(shape: unknown): shape is number[] {
  return Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0);
}

/** Computed so that a zero dimension wins over an overflowing product of the others. */
function elementCount(shape: readonly number[]): number {
  return shape.includes(0) ? 0 : shape.reduce((a, b) => a * b, 1);
}

/**
 * Tensors are stored in the order given; readers locate them by offset, so order is free. (The
 * reference writer sorts by alignment then name so zero-copy readers see aligned data; our decoder
 * copies, so it doesn't care.)
 */
export function encodeSafetensors(tensors: NamedTensor[], metadata?: Record<string, string>): Uint8Array {
  assertLittleEndianHost();
  // Null prototype so a tensor or metadata key named "__proto__" becomes an own property instead
  // of silently replacing the prototype and vanishing from the JSON.
  const header: Record<string, unknown> = Object.create(null);
  if (metadata !== undefined) {
    const meta: Record<string, string> = Object.create(null);
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') {
        throw new Error(`safetensors metadata value for "${key}" must be a string, got ${typeof value}`);
      }
      meta[key] = value;
    }
    header[METADATA_KEY] = meta;
  }

  const names = new Set<string>();
  let offset = 0;
  for (const t of tensors) {
    if (typeof t.name !== 'string') throw new Error('safetensors tensor name must be a string');
    if (t.name === METADATA_KEY) throw new Error(`"${METADATA_KEY}" is reserved and cannot name a tensor`);
    if (names.has(t.name)) throw new Error(`duplicate tensor name "${t.name}"`);
    names.add(t.name);
    if (!isSupported(t.dtype)) throw new Error(`tensor "${t.name}": unsupported dtype ${String(t.dtype)}`);
    const spec = SUPPORTED[t.dtype];
    if (typedArrayTag(t.data) !== spec.tag) {
      throw new Error(`tensor "${t.name}": dtype ${t.dtype} needs a ${spec.tag}, got ${typedArrayTag(t.data) ?? typeof t.data}`);
    }
    if (!isShape(t.shape)) throw new Error(`tensor "${t.name}": shape must be non-negative integers, got ${JSON.stringify(t.shape)}`);
    const count = elementCount(t.shape);
    if (count !== t.data.length) {
      throw new Error(`tensor "${t.name}": shape [${t.shape.join(', ')}] has ${count} elements but data has ${t.data.length}`);
    }
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }

  const json = new TextEncoder().encode(JSON.stringify(header));
  // 8 + N is a multiple of 8 exactly when N is, since the length prefix is 8 bytes.
  const headerLength = Math.ceil(json.length / HEADER_ALIGN) * HEADER_ALIGN;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface Entry {
  name: string;
  dtype: ReadableDtype;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * `what` names the source in error messages (usually the file path). Tensors come back in file
 * order, each in its own freshly allocated, properly aligned buffer, so nothing aliases `bytes`.
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  what: string,
): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  assertLittleEndianHost();
  if (bytes.length < 8) {
    throw new DataError(`${what} is too short to be a safetensors file (${bytes.length} bytes, need at least 8)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_BYTES)) {
    throw new DataError(`${what}: safetensors header length ${declared} is absurd (limit ${MAX_HEADER_BYTES} bytes); not a safetensors file?`);
  }
  const headerLength = Number(declared);
  if (8 + headerLength > bytes.length) {
    throw new DataError(`${what}: safetensors header length ${headerLength} exceeds the file size (${bytes.length} bytes); truncated file?`);
  }

  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
    header = JSON.parse(text);
  } catch (e) {
    throw new DataError(`header of ${what} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isPlainObject(header)) {
    throw new DataError(`header of ${what} must be a JSON object, got ${header === null ? 'null' : Array.isArray(header) ? 'an array' : typeof header}`);
  }

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      if (!isPlainObject(raw)) throw new DataError(`${what}: ${METADATA_KEY} must be an object of strings`);
      for (const [key, value] of Object.entries(raw)) {
        if (typeof value !== 'string') {
          throw new DataError(`${what}: ${METADATA_KEY} value for "${key}" must be a string, got ${JSON.stringify(value)}`);
        }
      }
      // fromEntries defines own properties, so a "__proto__" key can't replace the prototype.
      metadata = Object.fromEntries(Object.entries(raw)) as Record<string, string>;
      continue;
    }
    const where = `tensor "${name}" in ${what}`;
    if (!isPlainObject(raw)) throw new DataError(`${where}: header entry must be an object`);
    const { dtype, shape, data_offsets: offsets } = raw;
    if (!readable(dtype)) {
      throw new DataError(`${where}: unknown or unsupported dtype ${JSON.stringify(dtype)} (ridgeline reads ${[...Object.keys(SUPPORTED), ...Object.keys(READ_ONLY)].join(', ')})`);
    }
    if (!isShape(shape)) {
      throw new DataError(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1] || offsets[1] > dataLength
    ) {
      throw new DataError(`${where}: data_offsets ${JSON.stringify(offsets)} are not [begin, end] within the ${dataLength}-byte data section`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = elementCount(shape) * reader(dtype).itemsize;
    if (end - begin !== expected) {
      throw new DataError(`${where}: shape [${shape.join(', ')}] of ${dtype} needs ${expected} bytes but data_offsets span ${end - begin}`);
    }
    entries.push({ name, dtype, shape, begin, end });
  }

  // Stable sort: empty tensors sharing an offset keep header order.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const e of entries) {
    if (e.begin < covered) {
      throw new DataError(`tensor "${e.name}" in ${what}: data_offsets [${e.begin}, ${e.end}] overlap the previous tensor (ends at ${covered})`);
    }
    if (e.begin > covered) {
      throw new DataError(`tensor "${e.name}" in ${what}: hole in the data section, bytes ${covered}..${e.begin} belong to no tensor`);
    }
    covered = e.end;
  }
  if (covered !== dataLength) {
    throw new DataError(`${what}: hole in the data section, bytes ${covered}..${dataLength} belong to no tensor`);
  }

  const tensors = new Map<string, NamedTensor>();
  for (const e of entries) {
    // Copy into a fresh ArrayBuffer: the data section may sit at any byte offset, and typed
    // arrays need their element alignment. (Never `bytes.slice`: on a Node Buffer it's a view.)
    const buffer = new ArrayBuffer(e.end - e.begin);
    new Uint8Array(buffer).set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    tensors.set(e.name, { name: e.name, dtype: e.dtype as SafetensorsDtype, shape: e.shape, data: reader(e.dtype).make(buffer) });
  }
  return { tensors, metadata };
}
