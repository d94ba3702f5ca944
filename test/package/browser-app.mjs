// A library user's browser code, bundled by esbuild (platform browser) from a scratch project
// that installed the packed tarball, and run in Chromium by test/package/pack.test.ts, on a
// page (page.mjs) and inside a module Worker (train-worker.mjs): the backend `auto` picks (its
// second thread from the package's worker script, which the test serves at the URL the bundle
// resolves), the embedded sample over fetch from /sample/ (sent with Content-Encoding: gzip, as
// Vite's preview server does), training, save and load.
import { fetchSample, selectBackend } from 'ridgeline';
import { trainAndReload } from './train-steps.mjs';

export async function run() {
  const notices = [];
  const backend = await selectBackend('auto', { onNotice: (line) => notices.push(line) });
  const { train, test } = await fetchSample({ base: new URL('/sample/', location.href) });
  let pixelSum = 0;
  for (const v of train.images) pixelSum += v;
  const { report } = await trainAndReload(backend, train, test);
  const result = {
    ...report, threads: backend.threads, variant: backend.variant, crossOriginIsolated: globalThis.crossOriginIsolated,
    inWorker: typeof window === 'undefined', notices, trainCount: train.count, testCount: test.count, pixelSum,
  };
  backend.dispose?.();
  return result;
}

export const failure = (e) => ({ error: `${e?.name}: ${e?.message}\n${e?.stack ?? ''}` });
