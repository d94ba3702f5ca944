import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { encodeIdx, idxToDataset, parseIdx } from '../../src/data/idx.js';
import { DataError } from '../../src/errors.js';
import { readIdxFile } from '../../src/node/datasets.js';

const pixels = Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 20);
const images = { dims: [3, 2, 2], data: pixels };
const labels = { dims: [3], data: Uint8Array.from([9, 0, 4]) };

describe('IDX', () => {
  it('round-trips through encode and parse', () => {
    const bytes = encodeIdx([3, 2, 2], pixels);
    assert.deepEqual(Array.from(bytes.subarray(0, 16)), [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2]);
    const parsed = parseIdx(bytes, 'x');
    assert.deepEqual(parsed.dims, [3, 2, 2]);
    assert.deepEqual(Array.from(parsed.data), Array.from(pixels));
  });

  it('reads big-endian dimensions above 255', () => {
    const parsed = parseIdx(encodeIdx([60000], new Uint8Array(60000)), 'labels');
    assert.deepEqual(parsed.dims, [60000]);
  });

  it('rejects a wrong magic, naming the bytes seen', () => {
    const gz = gzipSync(encodeIdx([1], Uint8Array.of(1)));
    assert.throws(() => parseIdx(gz, 'f.idx'), (e: unknown) =>
      e instanceof DataError && /f\.idx is not an IDX file \(magic bytes 1f 8b 08 00, expected 00 00 08 0n\)/.test(e.message));
  });

  it('rejects unsupported data types by name', () => {
    const bytes = encodeIdx([1], new Uint8Array(1));
    bytes[2] = 0x0d;
    assert.throws(() => parseIdx(bytes, 'f'), /IDX type 0x0d \(float32\); only 0x08/);
  });

  it('rejects a file too short for its header', () => {
    assert.throws(() => parseIdx(Uint8Array.of(0, 0), 'tiny'), /tiny is too short to be an IDX file \(2 bytes\)/);
    assert.throws(() => parseIdx(Uint8Array.of(0, 0, 8, 3, 0, 0, 0, 1), 'hdr'), /3 dimensions need 16 bytes, file has 8/);
  });

  it('rejects truncated data and trailing garbage', () => {
    const bytes = encodeIdx([3, 2, 2], pixels);
    assert.throws(() => parseIdx(bytes.subarray(0, bytes.length - 2), 'cut'),
      /cut is truncated: header promises 12 bytes of data, file has 10/);
    const long = new Uint8Array(bytes.length + 3);
    long.set(bytes);
    assert.throws(() => parseIdx(long, 'long'), /long has 3 unexpected bytes/);
  });

  it('builds a scaled dataset with shape [1, rows, cols]', () => {
    const ds = idxToDataset(images, labels, 'mem');
    assert.equal(ds.count, 3);
    assert.equal(ds.features, 4);
    assert.equal(ds.classes, 10);
    assert.deepEqual(ds.shape, [1, 2, 2]);
    assert.deepEqual(Array.from(ds.labels), [9, 0, 4]);
    assert.equal(ds.images[1], Math.fround(20 / 255));
    assert.equal(ds.images[11], Math.fround(220 / 255));
  });

  it('rejects count mismatches, wrong ranks and out-of-range labels', () => {
    assert.throws(() => idxToDataset(images, { dims: [2], data: Uint8Array.of(1, 2) }, 'dir'),
      (e: unknown) => e instanceof DataError && e.message === 'dir: images and labels have different counts: 3 vs 2');
    assert.throws(() => idxToDataset({ dims: [3, 4], data: pixels }, labels, 'dir'), /images must be 3-D/);
    assert.throws(() => idxToDataset(images, { dims: [3, 1], data: labels.data }, 'dir'), /labels must be 1-D/);
    assert.throws(() => idxToDataset(images, { dims: [3], data: Uint8Array.of(0, 12, 1) }, 'dir'),
      (e: unknown) => e instanceof DataError && e.message === 'dir: label 12 at row 1 is out of range [0, 10)');
  });
});

describe('readIdxFile', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'ridgeline-idx-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('reads plain and gzipped files alike', async () => {
    const bytes = encodeIdx([3, 2, 2], pixels);
    await writeFile(join(dir, 'plain'), bytes);
    await writeFile(join(dir, 'packed.gz'), gzipSync(bytes));
    for (const name of ['plain', 'packed.gz']) {
      const parsed = await readIdxFile(join(dir, name));
      assert.deepEqual(parsed.dims, [3, 2, 2]);
      assert.deepEqual(Array.from(parsed.data), Array.from(pixels));
    }
  });

  it('reports a corrupt gzip file by path', async () => {
    const gz = gzipSync(encodeIdx([3, 2, 2], pixels));
    const path = join(dir, 'corrupt.gz');
    await writeFile(path, gz.subarray(0, gz.length - 10));
    await assert.rejects(readIdxFile(path), (e: unknown) =>
      e instanceof DataError && e.message.startsWith(`${path} is a corrupt gzip file`));
  });

  it('reports a missing file', async () => {
    const path = join(dir, 'nope');
    await assert.rejects(readIdxFile(path), (e: unknown) => e instanceof DataError && e.message === `no such file: ${path}`);
  });
});
