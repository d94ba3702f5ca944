/**
 * The embedded Fashion-MNIST sample (data/sample/, what `ridgeline train` reads by default):
 * the library's `fetchSample`, whose `new URL(…, import.meta.url)` Vite copies into the build
 * as assets. It inflates the .gz files only when they still start with gzip's magic number, so a
 * server that sends them with Content-Encoding: gzip (Vite's preview does) works too.
 */
import { fetchSample, type Dataset } from '../../src/index.js';

export interface Sample {
  train: Dataset;
  test: Dataset;
}

let loading: Promise<Sample> | undefined;

/** The sample's 4000 training and 1000 test images (loaded once per page or worker). */
export function loadSample(): Promise<Sample> {
  loading ??= fetchSample();
  return loading;
}
