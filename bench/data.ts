/** The bench's data: the first batches of Fashion-MNIST, written once for every child to read. */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { DEBIAN_FASHION_MNIST, loadIdxDirectory, resolveDataSource } from '../src/node/datasets.js';
import { log } from './child.js';
import { CNN_ARCH, CNN_PARAMS, WORKLOAD, cnnSpec, writeBatches, type Batches } from './common.js';

export interface BenchData { batches: Batches; label: string; note?: string }

export async function loadData(): Promise<BenchData> {
  let dir = DEBIAN_FASHION_MNIST, note: string | undefined;
  if (!existsSync(dir)) {
    dir = resolveDataSource(undefined).dir;
    note = `${DEBIAN_FASHION_MNIST} is absent (Debian package dataset-fashion-mnist); using the embedded sample in ${dir}`;
    log(`note: ${note}`);
  }
  const { train } = await loadIdxDirectory(dir);
  const { batch: B, batches: NB } = WORKLOAD;
  const F = train.features;
  const x = new Float32Array(NB * B * F), y = new Int32Array(NB * B);
  // The first NB·B training images in file order (wrapping around if the set is smaller).
  for (let i = 0; i < NB * B; i++) {
    const src = i % train.count;
    x.set(train.images.subarray(src * F, (src + 1) * F), i * F);
    y[i] = train.labels[src];
  }
  return {
    batches: { meta: { batches: NB, batch: B, features: F, classes: train.classes, source: dir }, x, y },
    label: `${dir} (first ${Math.min(NB * B, train.count)} of ${train.count} training images)`,
    note,
  };
}

/**
 * The batches in a fresh temp directory (and, with the CNN, ridgeline's parsed spec for
 * torch_step.py to build its modules from) for the duration of `use`; removed afterwards.
 */
export async function withBatchDir<T>(data: BenchData, withCnn: boolean, use: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(os.tmpdir(), 'ridgeline-bench-'));
  try {
    writeBatches(dir, data.batches);
    log(`data: ${data.label}; ${WORKLOAD.batches} batches of ${WORKLOAD.batch} in ${dir}`);
    if (withCnn) writeFileSync(join(dir, 'cnn-spec.json'), JSON.stringify({ arch: CNN_ARCH, spec: cnnSpec(), params: CNN_PARAMS }));
    return await use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
