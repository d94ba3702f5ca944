/**
 * Data files as bytes, wherever they came from: a file Node read, a `fetch`, a file input in a
 * page. Gzip is detected by its magic bytes, never by the name, because mirrors and browsers
 * (un)compress silently: a server that sends `.gz` with `Content-Encoding: gzip` hands `fetch`
 * the inflated bytes. Inflating uses `DecompressionStream` (browsers, workers, Node ≥ 18), so
 * Node and the browser read data through the same code. No Node APIs here.
 */
import { DataError } from '../errors.js';
import { parseCsv, type CsvData, type CsvOptions } from './csv.js';
import type { Dataset } from './dataset.js';
import { idxToDataset, parseIdx, type IdxArray } from './idx.js';

/**
 * The most one data file may inflate to: Fashion-MNIST's largest is 47 MB, and a file that
 * inflates to more than this is refused before it fills the memory.
 */
export const MAX_DECOMPRESSED_BYTES = 1024 * 2 ** 20;

/** The four files of (Fashion-)MNIST, by role, without the `.gz`. */
export const FASHION_MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** One value per file of an IDX dataset: its bytes, URL, path or parsed array. */
export type IdxFiles<T> = Record<keyof typeof FASHION_MNIST_FILES, T>;

export const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

/** Inflates gzip bytes, refusing output beyond `limit` bytes (a gzip bomb) with the limit named. */
export async function gunzipCapped(bytes: Uint8Array, what: string, limit = MAX_DECOMPRESSED_BYTES): Promise<Uint8Array> {
  const stream = new DecompressionStream('gzip');
  const writer = stream.writable.getWriter();
  // Errors in the input surface on the readable side, where they are reported.
  writer.write(bytes as Uint8Array<ArrayBuffer>).catch(() => {});
  writer.close().catch(() => {});
  const reader = stream.readable.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (e) {
      throw new DataError(`${what} is a corrupt gzip file: ${(e as Error).message}`);
    }
    if (chunk.done) break;
    total += chunk.value.length;
    if (total > limit) {
      reader.cancel().catch(() => {});
      throw new DataError(`${what} inflates to more than ${limit / 2 ** 20} MiB, the limit for one data file (a gzip bomb, or not a dataset ridgeline reads)`);
    }
    chunks.push(chunk.value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

/** The bytes inflated when they are gzip, else as they are. */
export async function gunzipIfNeeded(bytes: Uint8Array, what: string, limit = MAX_DECOMPRESSED_BYTES): Promise<Uint8Array> {
  return isGzip(bytes) ? gunzipCapped(bytes, what, limit) : bytes;
}

/** One IDX file's bytes, gzip or not. */
export async function readIdxBytes(bytes: Uint8Array, what: string): Promise<IdxArray> {
  return parseIdx(await gunzipIfNeeded(bytes, what), what);
}

/** A CSV file's bytes, gzip or not (see parseCsv; `options.what` names it in errors). */
export async function readCsvBytes(bytes: Uint8Array, options: CsvOptions): Promise<CsvData> {
  return parseCsv(new TextDecoder().decode(await gunzipIfNeeded(bytes, options.what)), options);
}

/** The training and test sets of four parsed IDX files; `what` names the source in errors. */
export function idxDatasets(files: IdxFiles<IdxArray>, what: string): { train: Dataset; test: Dataset } {
  const train = idxToDataset(files.trainImages, files.trainLabels, `${what} (training set)`);
  const test = idxToDataset(files.testImages, files.testLabels, `${what} (test set)`);
  if (train.shape.join('×') !== test.shape.join('×')) {
    throw new DataError(`${what}: training images are ${train.shape.join('×')} but test images are ${test.shape.join('×')}`);
  }
  return { train, test };
}

/** The training and test sets from the four files' bytes, each gzip or not. */
export async function idxDatasetsFromBytes(files: IdxFiles<Uint8Array>, what = 'IDX data'): Promise<{ train: Dataset; test: Dataset }> {
  return idxDatasets(await mapFiles(files, (bytes, key) => readIdxBytes(bytes, `${what}: ${FASHION_MNIST_FILES[key]}`)), what);
}

export interface FetchOptions {
  /** Default: the global `fetch`. */
  fetch?: (url: string | URL) => Promise<Response>;
}

/** The four IDX files at these URLs (fetched in parallel, gzip or not) as training and test sets. */
export async function fetchIdxDatasets(urls: IdxFiles<string | URL>, options: FetchOptions = {}): Promise<{ train: Dataset; test: Dataset }> {
  const arrays = await mapFiles(urls, async (url) => readIdxBytes(await fetchBytes(url, options), String(url)));
  return idxDatasets(arrays, String(urls.trainImages).replace(/[^/]*$/, ''));
}

/**
 * The URLs of the Fashion-MNIST sample shipped in the package (data/sample/: 4000 training and
 * 1000 test images, 2.1 MB gzipped), next to this module; bundlers that resolve
 * `new URL('…', import.meta.url)` (Vite, webpack 5, Parcel) copy the files into the build.
 * `base`: where you serve the sample's four `.gz` files instead (a bundler that does not).
 */
export function sampleUrls(base?: string | URL): IdxFiles<URL> {
  if (base !== undefined) {
    const dir = new URL(base, globalThis.location?.href);
    return mapFilesSync(FASHION_MNIST_FILES, (name) => new URL(`${name}.gz`, dir));
  }
  // One literal `new URL` per file: the form bundlers recognise as an asset.
  return {
    trainImages: new URL('../../data/sample/train-images-idx3-ubyte.gz', import.meta.url),
    trainLabels: new URL('../../data/sample/train-labels-idx1-ubyte.gz', import.meta.url),
    testImages: new URL('../../data/sample/t10k-images-idx3-ubyte.gz', import.meta.url),
    testLabels: new URL('../../data/sample/t10k-labels-idx1-ubyte.gz', import.meta.url),
  };
}

/** The package's Fashion-MNIST sample over `fetch` (browsers; Node reads it with `loadSample` from `ridgeline/node`). */
export async function fetchSample(options: FetchOptions & { base?: string | URL } = {}): Promise<{ train: Dataset; test: Dataset }> {
  return fetchIdxDatasets(sampleUrls(options.base), options);
}

async function fetchBytes(url: string | URL, options: FetchOptions): Promise<Uint8Array> {
  if (String(url).startsWith('file:') && options.fetch === undefined) {
    throw new DataError(`cannot fetch ${String(url)}: fetch does not read files; under Node use loadSample or loadIdxDirectory from ridgeline/node`);
  }
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(url);
  } catch (e) {
    throw new DataError(`cannot fetch ${String(url)}: ${(e as Error).message}`);
  }
  if (!response.ok) throw new DataError(`cannot fetch ${String(url)}: HTTP ${response.status} ${response.statusText}`.trim());
  return new Uint8Array(await response.arrayBuffer());
}

async function mapFiles<T, U>(files: IdxFiles<T>, f: (value: T, key: keyof IdxFiles<T>) => Promise<U>): Promise<IdxFiles<U>> {
  const keys = Object.keys(FASHION_MNIST_FILES) as (keyof IdxFiles<T>)[];
  const values = await Promise.all(keys.map((k) => f(files[k], k)));
  return Object.fromEntries(keys.map((k, i) => [k, values[i]])) as IdxFiles<U>;
}

function mapFilesSync<T, U>(files: IdxFiles<T>, f: (value: T) => U): IdxFiles<U> {
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [k, f(v as T)])) as IdxFiles<U>;
}
