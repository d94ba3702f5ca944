/**
 * The embedded Fashion-MNIST sample (data/sample/, what `ridgeline train` reads by default),
 * as bundled assets: the same bytes, parsed by the library's IDX reader. A server may send the
 * .gz files as they are or with Content-Encoding: gzip (Vite's preview does), so the bytes are
 * inflated here only when they still start with gzip's magic number.
 */
import { idxToDataset, parseIdx, type Dataset } from '../../src/data/index.js';
import trainImages from '../../data/sample/train-images-idx3-ubyte.gz?url';
import trainLabels from '../../data/sample/train-labels-idx1-ubyte.gz?url';
import testImages from '../../data/sample/t10k-images-idx3-ubyte.gz?url';
import testLabels from '../../data/sample/t10k-labels-idx1-ubyte.gz?url';

export interface Sample {
  train: Dataset;
  test: Dataset;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(inflated).arrayBuffer());
}

let loading: Promise<Sample> | undefined;

/** The sample's 4000 training and 1000 test images (loaded once per page or worker). */
export function loadSample(): Promise<Sample> {
  loading ??= (async () => {
    const [xi, yi, xt, yt] = await Promise.all([trainImages, trainLabels, testImages, testLabels].map(async (u) => parseIdx(await fetchBytes(new URL(u, import.meta.url).href), u)));
    return { train: idxToDataset(xi, yi, 'embedded sample (training set)'), test: idxToDataset(xt, yt, 'embedded sample (test set)') };
  })();
  return loading;
}
