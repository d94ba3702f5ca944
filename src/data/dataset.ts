/**
 * An in-memory labelled dataset: one flat Float32Array of pixels so training can slice
 * mini-batches without per-example allocations.
 */
import { DataError } from '../errors.js';
import { Rng } from '../tensor/rng.js';

export interface Dataset {
  /** count × features, row-major, pixel values scaled to [0, 1]. */
  readonly images: Float32Array;
  /** count labels, each in [0, classes). */
  readonly labels: Int32Array;
  readonly count: number;
  readonly features: number;
  readonly classes: number;
  /** Per-example shape, e.g. [1, 28, 28]; its product is `features`. */
  readonly shape: readonly number[];
}

export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
  'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
]);

/** Rows are 0-based in messages, matching how subset()/take() index them. */
export function createDataset(
  images: Float32Array,
  labels: Int32Array,
  shape: readonly number[],
  classes: number,
): Dataset {
  if (shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new DataError(`invalid example shape [${shape.join(', ')}]: dimensions must be positive integers`);
  }
  if (!Number.isInteger(classes) || classes < 1) {
    throw new DataError(`invalid number of classes ${classes}: must be a positive integer`);
  }
  const features = shape.reduce((a, b) => a * b, 1);
  const count = labels.length;
  if (images.length !== count * features) {
    throw new DataError(
      `images hold ${images.length} values but ${count} labels × ${features} features ` +
        `(shape [${shape.join(', ')}]) needs ${count * features}`,
    );
  }
  for (let i = 0; i < count; i++) {
    const y = labels[i];
    if (y < 0 || y >= classes) throw new DataError(`label ${y} at row ${i} is out of range [0, ${classes})`);
  }
  return { images, labels, count, features, classes, shape: Object.freeze([...shape]) };
}

/** Copies rows so the result stays valid if the source arrays are reused. */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const n = indices.length;
  const f = ds.features;
  const images = new Float32Array(n * f);
  const labels = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const i = indices[k];
    if (!Number.isInteger(i) || i < 0 || i >= ds.count) {
      throw new DataError(`row index ${i} is out of range [0, ${ds.count})`);
    }
    images.set(ds.images.subarray(i * f, (i + 1) * f), k * f);
    labels[k] = ds.labels[i];
  }
  return { images, labels, count: n, features: f, classes: ds.classes, shape: ds.shape };
}

/** The first n rows; n larger than the dataset gives all of it, so a `--limit` can be generous. */
export function take(ds: Dataset, n: number): Dataset {
  if (!Number.isInteger(n) || n < 0) throw new DataError(`cannot take ${n} rows: need a non-negative integer`);
  const m = Math.min(n, ds.count);
  return {
    images: ds.images.slice(0, m * ds.features),
    labels: ds.labels.slice(0, m),
    count: m,
    features: ds.features,
    classes: ds.classes,
    shape: ds.shape,
  };
}

/**
 * Holds out `validation` rows: a count (integer ≥ 1) or a fraction in (0, 1); 0 holds out nothing.
 * Which rows is decided by the seed alone; each part keeps the original row order, so the
 * split does not depend on how a caller later shuffles batches.
 */
export function splitValidation(
  ds: Dataset,
  validation: number,
  seed: number,
): { train: Dataset; validation: Dataset } {
  const rows = validationSplitRows(ds.count, validation, seed);
  return { train: subset(ds, rows.train), validation: subset(ds, rows.validation) };
}

/** The rows (ascending) of each part of splitValidation: what a script in another framework needs to train on the same rows. */
export function validationSplitRows(count: number, validation: number, seed: number): { train: Int32Array; validation: Int32Array } {
  const n = validationCount(count, validation);
  const order = new Int32Array(count);
  for (let i = 0; i < order.length; i++) order[i] = i;
  new Rng(seed).shuffle(order);
  const cut = count - n;
  return { train: order.slice(0, cut).sort(), validation: order.slice(cut).sort() };
}

function validationCount(count: number, v: number): number {
  if (!Number.isFinite(v) || v < 0) {
    throw new DataError(`invalid validation size ${v}: use a count (e.g. 5000) or a fraction in (0, 1) (e.g. 0.1)`);
  }
  if (v === 0) return 0;
  let n: number;
  if (v < 1) {
    // A fraction that rounds to nothing on a tiny dataset still means "hold some out".
    n = Math.max(1, Math.round(v * count));
  } else if (Number.isInteger(v)) {
    n = v;
  } else {
    throw new DataError(`invalid validation size ${v}: a count must be an integer, a fraction must be below 1`);
  }
  if (n >= count) {
    throw new DataError(`validation size ${n} leaves no training rows: the dataset has only ${count}`);
  }
  return n;
}
