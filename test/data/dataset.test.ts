import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDataset, FASHION_MNIST_CLASSES, splitValidation, subset, take, type Dataset } from '../../src/data/dataset.js';
import { DataError } from '../../src/errors.js';

/** Row i has pixels [i, i + 0.5] and label i % 3, so any row can be traced back to its origin. */
function rows(n: number): Dataset {
  const images = new Float32Array(2 * n);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    images[2 * i] = i;
    images[2 * i + 1] = i + 0.5;
    labels[i] = i % 3;
  }
  return createDataset(images, labels, [2], 3);
}
const ids = (ds: Dataset) => Array.from({ length: ds.count }, (_, k) => ds.images[2 * k]);

describe('createDataset', () => {
  it('derives count and features', () => {
    const ds = rows(5);
    assert.equal(ds.count, 5);
    assert.equal(ds.features, 2);
    assert.equal(FASHION_MNIST_CLASSES.length, 10);
    assert.equal(FASHION_MNIST_CLASSES[9], 'Ankle boot');
  });

  it('names the offending label and row', () => {
    assert.throws(() => createDataset(new Float32Array(4), Int32Array.of(1, 3), [2], 3),
      (e: unknown) => e instanceof DataError && e.message === 'label 3 at row 1 is out of range [0, 3)');
  });

  it('checks that images and labels agree in size', () => {
    assert.throws(() => createDataset(new Float32Array(5), Int32Array.of(0, 1), [1, 2], 3), /images hold 5 values but 2 labels × 2 features/);
  });
});

describe('subset and take', () => {
  it('copies the chosen rows with their labels', () => {
    const ds = rows(6);
    const s = subset(ds, [4, 1]);
    assert.deepEqual(Array.from(s.images), [4, 4.5, 1, 1.5]);
    assert.deepEqual(Array.from(s.labels), [1, 1]);
    s.images[0] = 99;
    assert.equal(ds.images[8], 4);
    assert.throws(() => subset(ds, [6]), /row index 6 is out of range \[0, 6\)/);
  });

  it('takes the first rows, at most all of them', () => {
    assert.deepEqual(ids(take(rows(6), 2)), [0, 1]);
    assert.equal(take(rows(6), 100).count, 6);
  });
});

describe('splitValidation', () => {
  const ds = rows(100);

  it('is deterministic for a seed and differs between seeds', () => {
    const a = splitValidation(ds, 20, 7);
    const b = splitValidation(ds, 20, 7);
    const c = splitValidation(ds, 20, 8);
    assert.deepEqual(ids(a.validation), ids(b.validation));
    assert.deepEqual(ids(a.train), ids(b.train));
    assert.notDeepEqual(ids(a.validation), ids(c.validation));
  });

  it('produces disjoint parts that cover the dataset, each in original order', () => {
    const { train, validation } = splitValidation(ds, 0.25, 3);
    assert.equal(train.count, 75);
    assert.equal(validation.count, 25);
    const t = ids(train);
    const v = ids(validation);
    assert.deepEqual([...t, ...v].sort((x, y) => x - y), ids(ds));
    assert.deepEqual(t, [...t].sort((x, y) => x - y));
    assert.deepEqual(v, [...v].sort((x, y) => x - y));
    for (let k = 0; k < validation.count; k++) assert.equal(validation.labels[k], v[k] % 3);
  });

  it('accepts counts, fractions and zero', () => {
    assert.equal(splitValidation(ds, 1, 0).validation.count, 1);
    assert.equal(splitValidation(ds, 0.1, 0).validation.count, 10);
    assert.equal(splitValidation(rows(5), 0.01, 0).validation.count, 1);
    const none = splitValidation(ds, 0, 0);
    assert.equal(none.validation.count, 0);
    assert.deepEqual(ids(none.train), ids(ds));
  });

  it('rejects impossible sizes', () => {
    for (const bad of [-1, 1.5, Number.NaN, 100, 250]) {
      assert.throws(() => splitValidation(ds, bad, 0), DataError, `validation=${bad}`);
    }
  });
});
