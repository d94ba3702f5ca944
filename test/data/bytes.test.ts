/**
 * Data from bytes (src/data/bytes.ts), the path browsers take and Node shares: gzip found by its
 * magic bytes whatever the name says, the decompressed-size cap, corrupt input, IDX and CSV from
 * bytes, and the sample over fetch from a local HTTP server that sends the `.gz` files both as
 * they are and with `Content-Encoding: gzip` (fetch then hands over inflated bytes).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import {
  FASHION_MNIST_FILES, MAX_DECOMPRESSED_BYTES, fetchIdxDatasets, fetchSample, gunzipCapped, gunzipIfNeeded, idxDatasetsFromBytes,
  readCsvBytes, readIdxBytes, sampleUrls,
} from '../../src/data/bytes.js';
import { encodeIdx } from '../../src/data/idx.js';
import { DataError } from '../../src/errors.js';
import { EMBEDDED_SAMPLE_DIR, loadSample } from '../../src/node/datasets.js';

const pixels = Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 20);
const idx = encodeIdx([3, 2, 2], pixels);

test('gzip is recognised by its magic bytes, not by a name: plain and gzipped bytes read alike', async () => {
  for (const bytes of [idx, gzipSync(idx)]) {
    const parsed = await readIdxBytes(bytes, 'images.gz');
    assert.deepEqual(parsed.dims, [3, 2, 2]);
    assert.deepEqual(Array.from(parsed.data), Array.from(pixels));
  }
  assert.equal(await gunzipIfNeeded(idx, 'plain'), idx, 'bytes that are not gzip pass through untouched');
});

test('the decompressed-size cap: at the limit it inflates, one byte over it is refused with the limit named; 1 GiB by default', async () => {
  const MiB = 2 ** 20;
  const exact = gzipSync(new Uint8Array(MiB));
  assert.equal((await gunzipCapped(exact, 'exact.gz', MiB)).length, MiB);
  await assert.rejects(gunzipCapped(gzipSync(new Uint8Array(MiB + 1)), 'bomb.gz', MiB),
    (e: unknown) => e instanceof DataError && e.message === 'bomb.gz inflates to more than 1 MiB, the limit for one data file (a gzip bomb, or not a dataset ridgeline reads)');
  assert.equal(MAX_DECOMPRESSED_BYTES, 1024 * MiB);
});

test('corrupt gzip: truncated or with garbage after the header, a DataError naming the input', async () => {
  const gz = gzipSync(idx);
  for (const bad of [gz.subarray(0, gz.length - 10), Uint8Array.from([0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8])]) {
    await assert.rejects(readIdxBytes(bad, 'x.gz'), (e: unknown) => e instanceof DataError && e.message.startsWith('x.gz is a corrupt gzip file'));
  }
});

test('CSV from bytes, gzip or not', async () => {
  const text = 'label,a,b\n1,0,255\n0,51,102\n';
  for (const bytes of [new TextEncoder().encode(text), gzipSync(text)]) {
    const csv = await readCsvBytes(bytes, { labelColumn: 'first', header: 'auto', what: 'rows.csv' });
    assert.equal(csv.count, 2);
    assert.deepEqual(Array.from(csv.labels!), [1, 0]);
    assert.deepEqual(Array.from(csv.images), [0, 1, 0.2, 0.4].map(Math.fround));
  }
});

const sampleBytes = async () => Object.fromEntries(await Promise.all(Object.entries(FASHION_MNIST_FILES).map(async ([key, name]) =>
  [key, new Uint8Array(await readFile(join(EMBEDDED_SAMPLE_DIR, `${name}.gz`)))] as const))) as Record<keyof typeof FASHION_MNIST_FILES, Uint8Array>;

test('the four IDX files from bytes give the datasets Node reads from the directory', async () => {
  const fromDisk = await loadSample();
  const fromBytes = await idxDatasetsFromBytes(await sampleBytes());
  for (const part of ['train', 'test'] as const) {
    assert.deepEqual(fromBytes[part].shape, fromDisk[part].shape);
    assert.equal(fromBytes[part].count, fromDisk[part].count);
    assert.deepEqual(fromBytes[part].images, fromDisk[part].images);
    assert.deepEqual(fromBytes[part].labels, fromDisk[part].labels);
  }
  assert.equal(fromDisk.train.count, 4000);
  // Train and test of different image sizes are refused, naming the source.
  const files = await sampleBytes();
  files.testImages = encodeIdx([1, 2, 2], new Uint8Array(4));
  files.testLabels = encodeIdx([1], new Uint8Array(1));
  await assert.rejects(idxDatasetsFromBytes(files, 'upload'), /upload: training images are 1×28×28 but test images are 1×2×2/);
});

test('sampleUrls: the package files next to the module, or the same names under a base URL', () => {
  const urls = sampleUrls();
  for (const [key, name] of Object.entries(FASHION_MNIST_FILES)) {
    const url = urls[key as keyof typeof FASHION_MNIST_FILES];
    assert.equal(fileURLToPath(url), join(EMBEDDED_SAMPLE_DIR, `${name}.gz`));
    assert.equal(sampleUrls('https://example.org/data/')[key as keyof typeof FASHION_MNIST_FILES].href, `https://example.org/data/${name}.gz`);
  }
});

let server: Server | undefined;
after(() => server?.close());

test('over fetch: the sample served as .gz and with Content-Encoding: gzip reads the same; HTTP errors and file: URLs are DataErrors', async () => {
  const files = await sampleBytes();
  const byName = new Map(Object.entries(FASHION_MNIST_FILES).map(([key, name]) => [`${name}.gz`, files[key as keyof typeof files]]));
  server = createServer((req, res) => {
    const m = /^\/(raw|encoded)\/(.*)$/.exec(req.url ?? '');
    const body = m && byName.get(m[2]);
    if (!body) { res.writeHead(404, 'Not Found').end(); return; }
    res.writeHead(200, { 'content-type': 'application/octet-stream', ...(m[1] === 'encoded' ? { 'content-encoding': 'gzip' } : {}) }).end(body);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const raw = await fetchSample({ base: `${origin}/raw/` });
  const encoded = await fetchSample({ base: `${origin}/encoded/` });
  const disk = await loadSample();
  for (const got of [raw, encoded]) {
    assert.deepEqual(got.train.images, disk.train.images);
    assert.deepEqual(got.test.labels, disk.test.labels);
  }
  const urls = { ...sampleUrls(`${origin}/raw/`), testLabels: `${origin}/raw/missing.gz` };
  await assert.rejects(fetchIdxDatasets(urls), (e: unknown) => e instanceof DataError && e.message === `cannot fetch ${origin}/raw/missing.gz: HTTP 404 Not Found`);
  await assert.rejects(fetchSample(), (e: unknown) => e instanceof DataError && /fetch does not read files; under Node use loadSample/.test(e.message));
});
