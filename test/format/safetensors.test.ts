import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DataError } from '../../src/errors.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../../src/format/safetensors.js';

const FIXTURE = new URL('../fixtures/safetensors/python-made.safetensors', import.meta.url);

/** Hand-assembles a file so corruption tests can say things the encoder would refuse to. */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function headerLength(bytes: Uint8Array): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
}

function roundTrip(tensors: NamedTensor[], metadata?: Record<string, string>) {
  return decodeSafetensors(encodeSafetensors(tensors, metadata), 'rt.safetensors');
}

function assertDataError(bytes: Uint8Array, fragment: RegExp): void {
  assert.throws(
    () => decodeSafetensors(bytes, 'model.safetensors'),
    (e: unknown) => {
      assert.ok(e instanceof DataError, `expected DataError, got ${String(e)}`);
      assert.match(e.message, fragment);
      assert.match(e.message, /model\.safetensors/);
      return true;
    },
  );
}

test('round-trips every supported dtype, empty and scalar tensors, in order', () => {
  const tensors: NamedTensor[] = [
    { name: 'u8', dtype: 'U8', shape: [3], data: new Uint8Array([0, 7, 255]) }, // odd size: misaligns what follows
    { name: 'w', dtype: 'F32', shape: [2, 2], data: new Float32Array([1.5, -2, Math.fround(0.1), -0]) },
    { name: 'd', dtype: 'F64', shape: [3], data: new Float64Array([0.1, -1e300, Number.NaN]) },
    { name: 'i', dtype: 'I32', shape: [1, 3], data: new Int32Array([-2147483648, 0, 2147483647]) },
    { name: 'empty', dtype: 'F32', shape: [0], data: new Float32Array(0) },
    { name: 'empty2', dtype: 'F64', shape: [4, 0], data: new Float64Array(0) },
    { name: 'scalar', dtype: 'F64', shape: [], data: new Float64Array([Math.PI]) },
  ];
  const { tensors: out, metadata } = roundTrip(tensors);
  assert.deepEqual([...out.keys()], tensors.map((t) => t.name));
  for (const t of tensors) {
    const got = out.get(t.name)!;
    assert.equal(got.dtype, t.dtype);
    assert.deepEqual(got.shape, t.shape);
    assert.equal(got.data.constructor, t.data.constructor);
    assert.deepEqual(got.data, t.data); // deepEqual uses Object.is: covers NaN and -0
    assert.equal(got.data.byteOffset, 0);
  }
  assert.deepEqual(metadata, {});
});

test('decoded tensors do not alias the input bytes', () => {
  const bytes = encodeSafetensors([{ name: 'x', dtype: 'U8', shape: [2], data: new Uint8Array([1, 2]) }]);
  const x = decodeSafetensors(bytes, 'a').tensors.get('x')!;
  bytes.fill(0);
  assert.deepEqual(x.data, new Uint8Array([1, 2]));
});

test('decodes from an unaligned Node Buffer view', () => {
  const file = encodeSafetensors([
    { name: 'a', dtype: 'U8', shape: [1], data: new Uint8Array([9]) },
    { name: 'b', dtype: 'F64', shape: [2], data: new Float64Array([1.25, -3]) },
  ]);
  const backing = Buffer.alloc(file.length + 3);
  backing.set(file, 3);
  const { tensors } = decodeSafetensors(backing.subarray(3), 'buf');
  assert.deepEqual(tensors.get('b')!.data, new Float64Array([1.25, -3]));
});

test('metadata round-trips, including awkward keys', () => {
  const metadata = { format: 'pt', note: 'héllo ✓ "quoted"', '': 'empty key' };
  assert.deepEqual(roundTrip([], metadata).metadata, metadata);
  const withProto: Record<string, string> = JSON.parse('{"__proto__":"x"}');
  const got = roundTrip([], withProto).metadata;
  assert.equal(Object.getPrototypeOf(got), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(got, '__proto__')?.value, 'x');
});

test('a tensor named __proto__ survives', () => {
  const { tensors } = roundTrip([{ name: '__proto__', dtype: 'U8', shape: [1], data: new Uint8Array([4]) }]);
  assert.deepEqual(tensors.get('__proto__')!.data, new Uint8Array([4]));
});

test('header is space-padded so the data section starts at a multiple of 8', () => {
  for (let n = 0; n < 10; n++) {
    const bytes = encodeSafetensors([{ name: 'x'.repeat(n + 1), dtype: 'U8', shape: [n], data: new Uint8Array(n) }]);
    const len = headerLength(bytes);
    assert.equal((8 + len) % 8, 0);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + len));
    assert.match(header, /^\{.*\} *$/);
    assert.equal(bytes.length, 8 + len + n);
  }
});

test('decodes the Python-made fixture to exactly the expected values', () => {
  const { tensors, metadata } = decodeSafetensors(readFileSync(FIXTURE), 'python-made.safetensors');
  assert.deepEqual(metadata, { format: 'pt', note: 'made by tools/make_safetensors_fixture.py' });
  assert.deepEqual([...tensors.keys()].sort(), ['bias', 'counts', 'weight']);
  const weight = tensors.get('weight')!;
  assert.equal(weight.dtype, 'F32');
  assert.deepEqual(weight.shape, [2, 3]);
  assert.deepEqual(weight.data, new Float32Array([0.5, -1.25, 3, 4, 5.5, 6]));
  const bias = tensors.get('bias')!;
  assert.equal(bias.dtype, 'F32');
  assert.deepEqual(bias.shape, [3]);
  assert.deepEqual(bias.data, new Float32Array([0.1, -0.2, 0.3]));
  const counts = tensors.get('counts')!;
  assert.equal(counts.dtype, 'I32');
  assert.deepEqual(counts.shape, [4]);
  assert.deepEqual(counts.data, new Int32Array([1, 2, 3, 4]));
});

test('encode rejects programmer errors with a plain Error', () => {
  const ok: NamedTensor = { name: 'a', dtype: 'F32', shape: [1], data: new Float32Array(1) };
  const cases: [NamedTensor[], RegExp][] = [
    [[ok, ok], /duplicate/],
    [[{ ...ok, name: '__metadata__' }], /reserved/],
    [[{ ...ok, shape: [2] }], /elements/],
    [[{ ...ok, shape: [-1] }], /shape/],
    [[{ ...ok, shape: [0.5] }], /shape/],
    [[{ ...ok, data: new Float64Array(1) }], /Float32Array/],
    [[{ ...ok, dtype: 'I64' }], /unsupported dtype/],
  ];
  for (const [tensors, fragment] of cases) {
    assert.throws(() => encodeSafetensors(tensors), (e: unknown) => {
      assert.ok(e instanceof Error && !(e instanceof DataError), String(e));
      assert.match(e.message, fragment);
      return true;
    });
  }
  assert.throws(() => encodeSafetensors([], { n: 1 as unknown as string }), /must be a string/);
});

const f32 = (name: string, begin: number, end: number, shape = [(end - begin) / 4]) => ({
  [name]: { dtype: 'F32', shape, data_offsets: [begin, end] },
});

test('corrupt: file shorter than 8 bytes', () => {
  assertDataError(new Uint8Array(5), /too short/);
});

test('corrupt: truncated data section', () => {
  const good = encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [4], data: new Float32Array(4) }]);
  assertDataError(good.subarray(0, good.length - 1), /data_offsets/);
});

test('corrupt: header length larger than the file', () => {
  const bytes = rawFile({});
  new DataView(bytes.buffer).setBigUint64(0, 1000n, true);
  assertDataError(bytes, /exceeds the file size/);
});

test('corrupt: absurd header length', () => {
  const bytes = rawFile({});
  new DataView(bytes.buffer).setBigUint64(0, 0xffff_ffff_ffff_ffffn, true);
  assertDataError(bytes, /absurd/);
});

test('corrupt: header is not valid JSON', () => {
  assertDataError(rawFile(null, undefined, '{"w": '), /header of model\.safetensors is not valid JSON: /);
});

test('corrupt: header is not valid UTF-8', () => {
  const bytes = rawFile(null, undefined, '{"x":1}');
  bytes[10] = 0xff;
  assertDataError(bytes, /not valid JSON/);
});

test('corrupt: header is not an object', () => {
  assertDataError(rawFile([1, 2]), /must be a JSON object/);
  assertDataError(rawFile(null), /must be a JSON object/);
});

test('corrupt: unknown dtype', () => {
  assertDataError(rawFile({ w: { dtype: 'F17', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), /unknown or unsupported dtype "F17"/);
});

test('corrupt: bad shape', () => {
  for (const shape of [[-1], [1.5], ['2'], 3, null]) {
    assertDataError(rawFile({ w: { dtype: 'U8', shape, data_offsets: [0, 0] } }), /shape must be/);
  }
});

test('corrupt: data_offsets out of range or malformed', () => {
  const data = new Uint8Array(8);
  assertDataError(rawFile(f32('w', 0, 12), data), /data_offsets \[0,12\]/);
  assertDataError(rawFile(f32('w', 4, 0, [1]), data), /data_offsets/);
  assertDataError(rawFile({ w: { dtype: 'U8', shape: [1], data_offsets: [0] } }, data), /data_offsets/);
  assertDataError(rawFile({ w: { dtype: 'U8', shape: [1], data_offsets: [-1, 0] } }, data), /data_offsets/);
});

test('corrupt: byte size does not match shape', () => {
  assertDataError(rawFile(f32('w', 0, 8, [3]), new Uint8Array(8)), /needs 12 bytes but data_offsets span 8/);
});

test('corrupt: overlapping tensors', () => {
  assertDataError(rawFile({ ...f32('a', 0, 8), ...f32('b', 4, 12) }, new Uint8Array(12)), /overlap/);
});

test('corrupt: hole between tensors or trailing bytes', () => {
  assertDataError(rawFile({ ...f32('a', 0, 4), ...f32('b', 8, 12) }, new Uint8Array(12)), /hole/);
  assertDataError(rawFile(f32('a', 0, 4), new Uint8Array(8)), /hole/);
  assertDataError(rawFile({}, new Uint8Array(1)), /hole/);
});

test('corrupt: non-string metadata', () => {
  assertDataError(rawFile({ __metadata__: { epochs: 3 } }), /__metadata__ value for "epochs" must be a string/);
  assertDataError(rawFile({ __metadata__: ['x'] }), /__metadata__ must be an object/);
});

test('corrupt: duplicate names in the header (JSON keeps the last) leave a hole', () => {
  const text = '{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}';
  assertDataError(rawFile(null, new Uint8Array(2), text), /hole/);
});
