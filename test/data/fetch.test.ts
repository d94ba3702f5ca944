import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { encodeIdx } from '../../src/data/idx.js';
import { DataError } from '../../src/errors.js';
import { loadIdxDirectory } from '../../src/node/datasets.js';
import { FASHION_MNIST_CHECKSUMS, fetchFashionMnist, type Checksum } from '../../src/node/fetch.js';

const NAMES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];

/** Tiny but valid Fashion-MNIST-shaped files: 3 training and 2 test images of 2×2 pixels. */
const served = new Map<string, Buffer>([
  [NAMES[0], gzipSync(encodeIdx([3, 2, 2], Uint8Array.from({ length: 12 }, (_, i) => i * 20)))],
  [NAMES[1], gzipSync(encodeIdx([3], Uint8Array.of(1, 5, 9)))],
  [NAMES[2], gzipSync(encodeIdx([2, 2, 2], Uint8Array.from({ length: 8 }, (_, i) => 255 - i)))],
  [NAMES[3], gzipSync(encodeIdx([2], Uint8Array.of(0, 7)))],
]);
const hash = (b: Buffer): Checksum => ({
  md5: createHash('md5').update(b).digest('hex'),
  sha256: createHash('sha256').update(b).digest('hex'),
});
const expected = Object.fromEntries([...served].map(([n, b]) => [n, hash(b)]));

describe('fetchFashionMnist', () => {
  let server: Server;
  let baseUrl: string;
  let requests: string[];
  let overrides: Map<string, Buffer>;
  let dir: string;

  before(async () => {
    server = createServer((req, res) => {
      const name = (req.url ?? '').replace(/^\/mirror\//, '');
      requests.push(name);
      const body = overrides.get(name) ?? served.get(name);
      if (!body) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-gzip', 'content-length': body.length }).end(body);
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mirror`;
  });
  after(async () => {
    await new Promise((done) => server.close(done));
  });
  beforeEach(async () => {
    requests = [];
    overrides = new Map();
    dir = await mkdtemp(join(tmpdir(), 'ridgeline-fetch-'));
  });

  it('downloads, verifies and leaves a loadable directory', async () => {
    const progress: [string, number, number | null][] = [];
    const paths = await fetchFashionMnist(join(dir, 'new'), {
      baseUrl, expected, onProgress: (f, r, t) => progress.push([f, r, t]),
    });
    assert.deepEqual(paths, NAMES.map((n) => join(dir, 'new', n)));
    assert.deepEqual(requests, NAMES);
    for (const n of NAMES) assert.deepEqual(await readFile(join(dir, 'new', n)), served.get(n));
    assert.deepEqual((await readdir(join(dir, 'new'))).sort(), [...NAMES].sort());
    const last = progress.filter(([f]) => f === NAMES[1]).at(-1);
    assert.deepEqual(last, [NAMES[1], served.get(NAMES[1])!.length, served.get(NAMES[1])!.length]);
    const { train, test } = await loadIdxDirectory(join(dir, 'new'));
    assert.deepEqual(Array.from(train.labels), [1, 5, 9]);
    assert.equal(test.count, 2);
    await rm(dir, { recursive: true });
  });

  it('skips files already present with the right checksum and replaces wrong ones', async () => {
    await writeFile(join(dir, NAMES[0]), served.get(NAMES[0])!);
    await writeFile(join(dir, NAMES[3]), 'stale');
    const skipped: string[] = [];
    await fetchFashionMnist(dir, { baseUrl, expected, onSkip: (f) => skipped.push(f) });
    assert.deepEqual(skipped, [NAMES[0]]);
    assert.deepEqual(requests, NAMES.slice(1));
    assert.deepEqual(await readFile(join(dir, NAMES[3])), served.get(NAMES[3]));

    requests = [];
    await fetchFashionMnist(dir, { baseUrl, expected, onSkip: (f) => skipped.push(f) });
    assert.deepEqual(requests, []);
    assert.equal(skipped.length, 5);
    await rm(dir, { recursive: true });
  });

  it('rejects a corrupted download and leaves nothing behind', async () => {
    const corrupt = Buffer.from(served.get(NAMES[2])!);
    corrupt[corrupt.length - 5] ^= 0xff;
    overrides.set(NAMES[2], corrupt);
    await assert.rejects(fetchFashionMnist(dir, { baseUrl, expected }), (e: unknown) =>
      e instanceof DataError &&
      e.message.includes(`expected MD5 ${expected[NAMES[2]].md5}, got ${hash(corrupt).md5}`) &&
      e.message.includes(NAMES[2]));
    assert.deepEqual((await readdir(dir)).sort(), NAMES.slice(0, 2).sort());
    await rm(dir, { recursive: true });
  });

  it('checks SHA-256 as well as MD5', async () => {
    const wrong = { ...expected, [NAMES[0]]: { md5: expected[NAMES[0]].md5, sha256: '0'.repeat(64) } };
    await assert.rejects(fetchFashionMnist(dir, { baseUrl, expected: wrong }),
      new RegExp(`expected SHA-256 0{64}, got ${expected[NAMES[0]].sha256}`));
    assert.deepEqual(await readdir(dir), []);
    await rm(dir, { recursive: true });
  });

  it('reports HTTP errors with their status', async () => {
    await assert.rejects(fetchFashionMnist(dir, { baseUrl: `${baseUrl}/missing/`, expected }), (e: unknown) =>
      e instanceof DataError && /downloading http:\/\/127\.0\.0\.1:\d+\/mirror\/missing\/train-images-idx3-ubyte\.gz failed: HTTP 404/.test(e.message));
    assert.deepEqual(await readdir(dir), []);
    await rm(dir, { recursive: true });
  });

  it('defaults to the published checksums', async () => {
    // Without overrides the synthetic files cannot match the real Fashion-MNIST hashes.
    await assert.rejects(fetchFashionMnist(dir, { baseUrl }),
      new RegExp(`expected MD5 ${FASHION_MNIST_CHECKSUMS[NAMES[0]].md5}`));
    assert.equal(FASHION_MNIST_CHECKSUMS['t10k-labels-idx1-ubyte.gz'].md5, 'bb300cfdad3c16e7a12a480ee83cd310');
    await rm(dir, { recursive: true });
  });
});
