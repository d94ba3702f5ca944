/**
 * ONNX in the browser: an MLP trained here for one epoch on the embedded sample, exported with
 * encodeOnnx, run by onnxruntime-web (its wasm backend, one thread) in headless Chromium (Debian's,
 * driven by playwright-core). Its logits on 128 test images equal ridgeline's within 1e-4 relative
 * (norm-wise: max|a − b| / max|b|) and the predicted classes are identical. The page and
 * onnxruntime-web's files (from node_modules) are served from 127.0.0.1, and any request
 * elsewhere is aborted and fails the test.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { encodeOnnx } from '../../src/format/onnx.js';
import { jsBackend } from '../../src/kernels/js/index.js';
import { EMBEDDED_SAMPLE_DIR, loadIdxDirectory } from '../../src/node/datasets.js';
import { mlpSpec } from '../../src/nn/spec.js';
import { regularizationTerm } from '../../src/regularization/plan.js';
import { Trainer } from '../../src/train/trainer.js';
import { launchChromium, serveFiles, type Files } from '../helpers/browser.js';
import { difference } from '../helpers/close.js';
import { requires } from '../helpers/requires.js';

const ORT_DIST = fileURLToPath(new URL('../../node_modules/onnxruntime-web/dist/', import.meta.url));
const IMAGES = 128, CLASSES = 10, TOLERANCE = 1e-4;

let browser: Browser | undefined;
let server: Server | undefined;
after(async () => {
  await browser?.close();
  server?.close();
});

interface PageResult { error?: string; logits?: number[]; dims?: number[] }

/** The page: onnxruntime-web's wasm build (global `ort`), one thread, its files from /ort/. */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>ridgeline onnx</title>
<script src="/ort/ort.wasm.min.js"></script>
<script>
(async () => {
  try {
    ort.env.wasm.wasmPaths = '/ort/';
    ort.env.wasm.numThreads = 1;
    const model = new Uint8Array(await (await fetch('/model.onnx')).arrayBuffer());
    const input = new Float32Array(await (await fetch('/input.bin')).arrayBuffer());
    const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
    const out = await session.run({ input: new ort.Tensor('float32', input, [${IMAGES}, 784]) });
    window.__onnxResult = { logits: Array.from(out.logits.data), dims: out.logits.dims };
  } catch (e) {
    window.__onnxResult = { error: String((e && e.stack) || e) };
  }
})();
</script>
`;

const argmax = (a: ArrayLike<number>, row: number) => {
  let best = 0;
  for (let j = 1; j < CLASSES; j++) if (a[row * CLASSES + j] > a[row * CLASSES + best]) best = j;
  return best;
};

test('onnxruntime-web (wasm) in headless Chromium runs an exported MLP: ridgeline\'s logits and classes', { timeout: 180_000, ...requires('chromium') }, async () => {
  const { train, test: testSet } = await loadIdxDirectory(EMBEDDED_SAMPLE_DIR);
  const trainer = new Trainer({
    model: mlpSpec(784, [64, 32], CLASSES),
    optimizer: { name: 'momentum', schedule: { type: 'constant', lr: 0.05 }, momentum: 0.9 },
    regularization: [regularizationTerm('1e-4')], batchSize: IMAGES, epochs: 1, seed: 5,
  }, jsBackend, train);
  await trainer.fit();
  const x = testSet!.images.slice(0, IMAGES * 784);
  const ours = trainer.model.forward(x, IMAGES, false).slice(0, IMAGES * CLASSES);
  const onnx = encodeOnnx(trainer.config.model, trainer.model.tensors);

  const files: Files = {
    '/': ['text/html; charset=utf-8', PAGE],
    '/model.onnx': ['application/octet-stream', onnx],
    '/input.bin': ['application/octet-stream', new Uint8Array(x.buffer, x.byteOffset, x.byteLength)],
    '/favicon.ico': ['image/x-icon', ''],
  };
  // onnxruntime-web's own files, as its package ships them: the script, its wasm loader and module.
  for (const f of readdirSync(ORT_DIST).filter((f) => /^ort(-wasm-simd-threaded)?\.(wasm\.min\.js|mjs|wasm)$/.test(f))) {
    files[`/ort/${f}`] = [f.endsWith('.wasm') ? 'application/wasm' : 'text/javascript', readFileSync(join(ORT_DIST, f))];
  }
  assert.ok(files['/ort/ort.wasm.min.js'] && files['/ort/ort-wasm-simd-threaded.wasm'], `onnxruntime-web's wasm build is missing from ${ORT_DIST}: npm ci`);
  let url: string;
  ({ server, url } = await serveFiles(files));

  browser = await launchChromium();
  const page = await browser.newPage();
  const outside: string[] = [], pageErrors: string[] = [];
  await page.route('**/*', (route) => {
    if (new URL(route.request().url()).hostname === '127.0.0.1') return route.continue();
    outside.push(route.request().url());
    return route.abort();
  });
  page.on('pageerror', (e) => pageErrors.push(e.stack ?? e.message));
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => (window as { __onnxResult?: unknown }).__onnxResult !== undefined, null, { timeout: 120_000 });
  const result = (await page.evaluate(() => (window as { __onnxResult?: unknown }).__onnxResult)) as PageResult;

  assert.equal(result.error, undefined, 'onnxruntime-web threw');
  assert.deepEqual(pageErrors, [], 'page errors');
  assert.deepEqual(outside, [], 'requests beyond localhost');
  assert.deepEqual(result.dims, [IMAGES, CLASSES]);
  const d = difference(result.logits!, ours);
  const same = Array.from({ length: IMAGES }, (_, r) => argmax(result.logits!, r) === argmax(ours, r));
  const correct = Array.from({ length: IMAGES }, (_, r) => argmax(ours, r) === testSet!.labels[r]).filter(Boolean).length;
  console.log(`onnxruntime-web 1 thread (wasm) in Chromium: ${IMAGES} test images, logits max rel. difference ${d.maxRel.toExponential(2)} ` +
    `(max abs ${d.maxAbs.toExponential(2)}), predicted classes identical: ${same.every(Boolean)}, ridgeline's accuracy on them ${(100 * correct / IMAGES).toFixed(1)}%`);
  assert.ok(d.maxRel <= TOLERANCE, `logits differ by ${d.maxRel.toExponential(2)} relative`);
  assert.ok(same.every(Boolean), `classes differ on images ${same.flatMap((s, i) => (s ? [] : [i])).join(', ')}`);
  assert.ok(correct > IMAGES / 2, 'the trained model classifies better than chance, so the classes compared mean something');
});
