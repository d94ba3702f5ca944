/**
 * Turns `--data` into datasets: nothing → the embedded sample, 'fashion-mnist' → the Debian
 * copy, a directory → its four IDX files, a .csv file → labelled rows (no test set unless
 * --test-data names one).
 */
import { createDataset, type Dataset } from '../data/dataset.js';
import { ConfigError } from '../errors.js';
import { loadCsvFile, loadIdxDirectory, loadIdxSplit, resolveDataSource } from '../node/datasets.js';

export interface LoadedData {
  train: Dataset;
  test: Dataset | null;
  label: string;
}

const isCsv = (p: string) => /\.csv(\.gz)?$/i.test(p);

/** `shape` (from --shape) makes rows images, e.g. [1, 28, 28]; rows are flat vectors without it. */
export async function loadCsvDataset(path: string, shape?: number[]): Promise<Dataset> {
  const csv = await loadCsvFile(path, { labelColumn: 'first', header: 'auto', shape });
  return createDataset(csv.images, csv.labels!, shape ?? [csv.features], 10);
}

export async function loadData(data: string | undefined, testData?: string, shape?: number[]): Promise<LoadedData> {
  if (data !== undefined && isCsv(data)) {
    return { train: await loadCsvDataset(data, shape), test: testData ? await loadCsvDataset(testData, shape) : null, label: data };
  }
  if (shape !== undefined) throw new ConfigError('--shape applies to CSV data; IDX files carry their own shape');
  const source = resolveDataSource(data);
  const { train, test } = await loadIdxDirectory(source.dir);
  return { train, test: testData ? await loadCsvDataset(testData, train.shape.length > 1 ? [...train.shape] : undefined) : test, label: source.label };
}

/** One split of `--data` (evaluate): only an IDX directory's test or training files; a CSV file is its one set. */
export async function loadSplit(data: string | undefined, split: 'train' | 'test'): Promise<{ dataset: Dataset; label: string }> {
  if (data !== undefined && isCsv(data)) return { dataset: await loadCsvDataset(data), label: data };
  const source = resolveDataSource(data);
  return { dataset: await loadIdxSplit(source.dir, split), label: source.label };
}
