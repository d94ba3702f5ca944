/**
 * Reading datasets from disk: IDX files (gzipped or not), the Fashion-MNIST directory layout
 * and CSV files. Parsing stays in src/data/; this file only finds, reads and decompresses.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { DataError } from '../errors.js';
import { parseCsv, type CsvData, type CsvOptions } from '../data/csv.js';
import type { Dataset } from '../data/dataset.js';
import { idxToDataset, parseIdx, type IdxArray } from '../data/idx.js';

const gunzipAsync = promisify(gunzip);
/**
 * The most one data file may inflate to: Fashion-MNIST's largest is 47 MB, and a file that
 * declares more than this is refused before it fills the memory.
 */
export const MAX_DECOMPRESSED_BYTES = 1024 * 2 ** 20;

export const FASHION_MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Installed by Debian's `dataset-fashion-mnist` package. */
export const DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';

/** Two levels up reaches the package root from both src/node/ and dist/node/. */
export const EMBEDDED_SAMPLE_DIR = fileURLToPath(new URL('../../data/sample/', import.meta.url));

export async function readIdxFile(path: string): Promise<IdxArray> {
  return parseIdx(await readMaybeGzipped(path), path);
}

export async function loadIdxDirectory(dir: string): Promise<{ train: Dataset; test: Dataset; source: string }> {
  await requireDirectory(dir);
  const found: Partial<Record<keyof typeof FASHION_MNIST_FILES, string>> = {};
  const missing: string[] = [];
  for (const [key, name] of Object.entries(FASHION_MNIST_FILES) as [keyof typeof FASHION_MNIST_FILES, string][]) {
    const candidates = idxCandidates(name);
    const hit = await firstExisting(dir, candidates);
    if (hit) found[key] = hit;
    else missing.push(candidates.join(' or '));
  }
  if (missing.length > 0) {
    throw new DataError(`${dir} is missing Fashion-MNIST files; looked for:\n  ${missing.join('\n  ')}`);
  }
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    [found.trainImages!, found.trainLabels!, found.testImages!, found.testLabels!].map(readIdxFile),
  );
  const train = idxToDataset(trainImages, trainLabels, `${dir} (training set)`);
  const test = idxToDataset(testImages, testLabels, `${dir} (test set)`);
  if (train.shape.join('×') !== test.shape.join('×')) {
    throw new DataError(
      `${dir}: training images are ${train.shape.join('×')} but test images are ${test.shape.join('×')}`,
    );
  }
  return { train, test, source: dir };
}

/**
 * Where `--data` points: nothing → the sample shipped in the package (so the CLI works
 * offline out of the box); 'fashion-mnist' → the Debian copy; anything else → a directory.
 */
export function resolveDataSource(data: string | undefined): { dir: string; label: string } {
  if (data === undefined) return { dir: EMBEDDED_SAMPLE_DIR, label: 'embedded Fashion-MNIST sample' };
  if (data === 'fashion-mnist') {
    if (isDirectory(DEBIAN_FASHION_MNIST)) {
      return { dir: DEBIAN_FASHION_MNIST, label: `Fashion-MNIST (${DEBIAN_FASHION_MNIST})` };
    }
    throw new DataError(
      `Fashion-MNIST is not installed at ${DEBIAN_FASHION_MNIST}. Install the Debian package ` +
        '`dataset-fashion-mnist`, or run `ridgeline data fetch fashion-mnist --to DIR` and pass --data DIR.',
    );
  }
  if (!existsSync(data)) throw new DataError(`no such directory: ${data}`);
  if (!isDirectory(data)) throw new DataError(`${data} is not a directory of IDX files`);
  return { dir: data, label: data };
}

export async function loadCsvFile(path: string, options: Omit<CsvOptions, 'what'>): Promise<CsvData> {
  const bytes = await readMaybeGzipped(path);
  return parseCsv(new TextDecoder().decode(bytes), { ...options, what: path });
}

/** Mirrors differ in gzip or not, and some write `train-images.idx3-ubyte`. */
function idxCandidates(name: string): string[] {
  const dotted = name.replace(/-(idx\d-ubyte)$/, '.$1');
  return [`${name}.gz`, name, `${dotted}.gz`, dotted];
}

async function firstExisting(dir: string, names: string[]): Promise<string | null> {
  for (const n of names) {
    const p = join(dir, n);
    try {
      if ((await stat(p)).isFile()) return p;
    } catch {
      // try the next spelling
    }
  }
  return null;
}

async function readMaybeGzipped(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(`no such file: ${path}`);
    throw new DataError(`cannot read ${path}: ${(err as Error).message}`);
  }
  // Sniff the magic rather than trust the extension: mirrors and browsers (un)compress silently.
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipCapped(bytes, path) : bytes;
}

/** Inflates gzip bytes, refusing output beyond `limit` bytes (a gzip bomb) with the limit named. */
export async function gunzipCapped(bytes: Uint8Array, what: string, limit = MAX_DECOMPRESSED_BYTES): Promise<Uint8Array> {
  try {
    return await gunzipAsync(bytes, { maxOutputLength: limit });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new DataError(`${what} inflates to more than ${limit / 2 ** 20} MiB, the limit for one data file (a gzip bomb, or not a dataset ridgeline reads)`);
    }
    throw new DataError(`${what} is a corrupt gzip file: ${(err as Error).message}`);
  }
}

async function requireDirectory(dir: string): Promise<void> {
  try {
    if ((await stat(dir)).isDirectory()) return;
  } catch {
    throw new DataError(`no such directory: ${dir}`);
  }
  throw new DataError(`${dir} is not a directory`);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
