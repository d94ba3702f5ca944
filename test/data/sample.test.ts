import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DataError } from '../../src/errors.js';
import { DEBIAN_FASHION_MNIST, EMBEDDED_SAMPLE_DIR, loadIdxDirectory, resolveDataSource } from '../../src/node/datasets.js';

describe('embedded Fashion-MNIST sample', () => {
  it('loads through the default data source', async () => {
    const source = resolveDataSource(undefined);
    assert.equal(source.dir, EMBEDDED_SAMPLE_DIR);
    assert.equal(source.label, 'embedded Fashion-MNIST sample');
    const { train, test } = await loadIdxDirectory(source.dir);
    assert.equal(train.count, 4000);
    assert.equal(test.count, 1000);
    for (const ds of [train, test]) {
      assert.equal(ds.features, 784);
      assert.deepEqual(ds.shape, [1, 28, 28]);
      assert.equal(ds.classes, 10);
      const perClass = new Array<number>(10).fill(0);
      for (const y of ds.labels) perClass[y]++;
      assert.ok(perClass.every((c) => c > 0), `every class present: ${perClass}`);
      let max = 0;
      let min = 1;
      for (const p of ds.images) { max = Math.max(max, p); min = Math.min(min, p); }
      assert.equal(min, 0);
      assert.equal(max, 1);
    }
    // The first Fashion-MNIST training image is an ankle boot, the first test image too.
    assert.equal(train.labels[0], 9);
    assert.equal(test.labels[0], 9);
  });

  it('ships its attribution', () => {
    assert.ok(existsSync(join(EMBEDDED_SAMPLE_DIR, 'README.md')));
  });
});

describe('resolveDataSource', () => {
  it("maps 'fashion-mnist' to the Debian copy, or explains how to get it", () => {
    if (existsSync(DEBIAN_FASHION_MNIST)) {
      assert.equal(resolveDataSource('fashion-mnist').dir, DEBIAN_FASHION_MNIST);
    } else {
      assert.throws(() => resolveDataSource('fashion-mnist'), /dataset-fashion-mnist.*ridgeline data fetch fashion-mnist --to DIR/);
    }
  });

  it('rejects a directory that does not exist', () => {
    assert.throws(() => resolveDataSource('/nonexistent/ridgeline-data'),
      (e: unknown) => e instanceof DataError && e.message === 'no such directory: /nonexistent/ridgeline-data');
  });

  it('names the files it looked for when a directory lacks them', async () => {
    await assert.rejects(loadIdxDirectory(join(EMBEDDED_SAMPLE_DIR, '..')),
      (e: unknown) => e instanceof DataError && /train-images-idx3-ubyte\.gz or train-images-idx3-ubyte or train-images\.idx3-ubyte\.gz/.test(e.message));
  });
});
