/**
 * Reading datasets from disk: IDX files (gzipped or not), the Fashion-MNIST directory layout
 * and CSV files. Parsing and inflating stay in src/data/ (bytes.ts, shared with browsers); this
 * file only finds and reads.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataError } from '../errors.js';
import { FASHION_MNIST_FILES, idxDatasets, readCsvBytes, readIdxBytes, type IdxFiles } from '../data/bytes.js';
import type { CsvData, CsvOptions } from '../data/csv.js';
import type { Dataset } from '../data/dataset.js';
import { idxToDataset, type IdxArray } from '../data/idx.js';

/** Installed by Debian's `dataset-fashion-mnist` package. */
export const DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';

/** Two levels up reaches the package root from both src/node/ and dist/node/. */
export const EMBEDDED_SAMPLE_DIR = fileURLToPath(new URL('../../data/sample/', import.meta.url));

export async function readIdxFile(path: string): Promise<IdxArray> {
  return readIdxBytes(await readBytes(path), path);
}

/** The Fashion-MNIST sample shipped in the package (4000 training and 1000 test images). */
export async function loadSample(): Promise<{ train: Dataset; test: Dataset }> {
  const { train, test } = await loadIdxDirectory(EMBEDDED_SAMPLE_DIR);
  return { train, test };
}

export async function loadIdxDirectory(dir: string): Promise<{ train: Dataset; test: Dataset; source: string }> {
  const found = await findIdxFiles(dir, Object.keys(FASHION_MNIST_FILES) as (keyof IdxFiles<string>)[]);
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    [found.trainImages!, found.trainLabels!, found.testImages!, found.testLabels!].map(readIdxFile),
  );
  const { train, test } = idxDatasets({ trainImages, trainLabels, testImages, testLabels }, dir);
  return { train, test, source: dir };
}

/**
 * One split of an IDX directory, reading only its two files: `evaluate` on the test set does
 * not decode 47 MB of training images it never looks at.
 */
export async function loadIdxSplit(dir: string, split: 'train' | 'test'): Promise<Dataset> {
  const keys = split === 'train' ? ['trainImages', 'trainLabels'] as const : ['testImages', 'testLabels'] as const;
  const found = await findIdxFiles(dir, [...keys]);
  const [images, labels] = await Promise.all([found[keys[0]]!, found[keys[1]]!].map(readIdxFile));
  return idxToDataset(images, labels, `${dir} (${split === 'train' ? 'training' : 'test'} set)`);
}

/** The paths of the named files in `dir` (gzipped or not, either naming), or an error listing what is missing. */
async function findIdxFiles(dir: string, keys: (keyof IdxFiles<string>)[]): Promise<Partial<IdxFiles<string>>> {
  await requireDirectory(dir);
  const found: Partial<IdxFiles<string>> = {};
  const missing: string[] = [];
  for (const key of keys) {
    const candidates = idxCandidates(FASHION_MNIST_FILES[key]);
    const hit = await firstExisting(dir, candidates);
    if (hit) found[key] = hit;
    else missing.push(candidates.join(' or '));
  }
  if (missing.length > 0) {
    throw new DataError(`${dir} is missing Fashion-MNIST files; looked for:\n  ${missing.join('\n  ')}`);
  }
  return found;
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
        '`dataset-fashion-mnist`, or run `ridgeline data fetch fashion-mnist --to DIR` and use DIR.',
    );
  }
  if (!existsSync(data)) throw new DataError(`no such directory: ${data}`);
  if (!isDirectory(data)) throw new DataError(`${data} is not a directory of IDX files`);
  return { dir: data, label: data };
}

export async function loadCsvFile(path: string, options: Omit<CsvOptions, 'what'>): Promise<CsvData> {
  return readCsvBytes(await readBytes(path), { ...options, what: path });
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

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(`no such file: ${path}`);
    throw new DataError(`cannot read ${path}: ${(err as Error).message}`);
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
