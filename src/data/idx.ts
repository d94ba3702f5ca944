/**
 * The IDX format of MNIST and Fashion-MNIST: bytes 00 00, a data-type byte, a dimension count,
 * big-endian uint32 sizes, then the values. Only unsigned bytes occur in those datasets, so the
 * other IDX types are recognised only to reject them by name.
 */
import { DataError } from '../errors.js';
import { createDataset, type Dataset } from './dataset.js';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;
const OTHER_TYPES: Record<number, string> = {
  0x09: 'signed byte', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64',
};

/** `data` is a view into `bytes`, not a copy. */
export function parseIdx(bytes: Uint8Array, what: string): IdxArray {
  if (bytes.length < 4) {
    throw new DataError(`${what} is too short to be an IDX file (${bytes.length} bytes)`);
  }
  const [m0, m1, type, ndims] = bytes;
  if (m0 !== 0 || m1 !== 0 || (type !== UBYTE && !(type in OTHER_TYPES)) || ndims === 0) {
    const hint = m0 === 0x1f && m1 === 0x8b ? '; it looks gzip-compressed' : '';
    throw new DataError(
      `${what} is not an IDX file (magic bytes ${hex(bytes.subarray(0, 4))}, expected 00 00 08 0n)${hint}`,
    );
  }
  if (type !== UBYTE) {
    throw new DataError(
      `${what} holds IDX type 0x${type.toString(16).padStart(2, '0')} (${OTHER_TYPES[type]}); ` +
        'only 0x08 (unsigned byte) is supported',
    );
  }
  const headerLength = 4 + 4 * ndims;
  if (bytes.length < headerLength) {
    throw new DataError(
      `${what} is too short for its IDX header: ${ndims} dimensions need ${headerLength} bytes, file has ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  const available = bytes.length - headerLength;
  if (available < size) {
    throw new DataError(`${what} is truncated: header promises ${size} bytes of data, file has ${available}`);
  }
  if (available > size) {
    // Usually two files concatenated or a wrong header; guessing which part is valid would hide it.
    throw new DataError(
      `${what} has ${available - size} unexpected bytes after the ${size} bytes of data its header promises`,
    );
  }
  return { dims, data: bytes.subarray(headerLength, headerLength + size) };
}

export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  if (dims.length === 0 || dims.length > 255 || !dims.every((d) => Number.isInteger(d) && d >= 0 && d <= 0xffffffff)) {
    throw new DataError(`cannot encode IDX dimensions [${dims.join(', ')}]`);
  }
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== data.length) {
    throw new DataError(`IDX dimensions [${dims.join(', ')}] need ${size} bytes, got ${data.length}`);
  }
  const headerLength = 4 + 4 * dims.length;
  const out = new Uint8Array(headerLength + size);
  const view = new DataView(out.buffer);
  out[2] = UBYTE;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, headerLength);
  return out;
}

/** Fashion-MNIST and MNIST both have 10 classes; IDX carries no class count of its own. */
export const IDX_CLASSES = 10;

export function idxToDataset(images: IdxArray, labels: IdxArray, what: string): Dataset {
  if (images.dims.length !== 3) {
    throw new DataError(
      `${what}: images must be 3-D (count × rows × cols), got ${images.dims.length}-D [${images.dims.join(', ')}]`,
    );
  }
  if (labels.dims.length !== 1) {
    throw new DataError(`${what}: labels must be 1-D, got ${labels.dims.length}-D [${labels.dims.join(', ')}]`);
  }
  const [count, rows, cols] = images.dims;
  if (count !== labels.dims[0]) {
    throw new DataError(`${what}: images and labels have different counts: ${count} vs ${labels.dims[0]}`);
  }
  const pixels = new Float32Array(images.data.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = images.data[i] / 255;
  try {
    return createDataset(pixels, Int32Array.from(labels.data), [1, rows, cols], IDX_CLASSES);
  } catch (err) {
    if (err instanceof DataError) throw new DataError(`${what}: ${err.message}`);
    throw err;
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}
