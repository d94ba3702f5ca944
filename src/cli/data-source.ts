/**
 * Turns `--data` into datasets: nothing → the embedded sample, 'fashion-mnist' → the Debian
 * copy, a directory → its four IDX files, a .csv file → labelled rows (no test set unless
 * --test-data names one).
 */
import { createDataset, type Dataset } from '../data/dataset.js';
import { loadCsvFile, loadIdxDirectory, resolveDataSource } from '../node/datasets.js';

export interface LoadedData {
  train: Dataset;
  test: Dataset | null;
  label: string;
}

const isCsv = (p: string) => /\.csv(\.gz)?$/i.test(p);

export async function loadCsvDataset(path: string): Promise<Dataset> {
  const csv = await loadCsvFile(path, { labelColumn: 'first', header: 'auto' });
  return createDataset(csv.images, csv.labels!, [csv.features], 10);
}

export async function loadData(data: string | undefined, testData?: string): Promise<LoadedData> {
  if (data !== undefined && isCsv(data)) {
    return { train: await loadCsvDataset(data), test: testData ? await loadCsvDataset(testData) : null, label: data };
  }
  const source = resolveDataSource(data);
  const { train, test } = await loadIdxDirectory(source.dir);
  return { train, test: testData ? await loadCsvDataset(testData) : test, label: source.label };
}
