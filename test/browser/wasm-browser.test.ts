/**
 * The browser-capable core with the WASM backend, bundled by esbuild and run in headless
 * Chromium (playwright-core + Debian's chromium): test/browser/entry.ts trains the same
 * 784-64-10 MLP for 5 steps on the JS reference backend and on the WASM backend, and every
 * parameter must agree to 1e-5 (norm-wise max|a − b| / max|b|, the tolerance of the other
 * parity tests). Chromium 156 enables relaxed SIMD by default, so the backend must pick its
 * relaxed module there, which Node 20 cannot run without a flag: this is that module's check in
 * the runtime it is built for.
 *
 * The bundle is also the layering check: it is built for platform 'browser', so an import of a
 * Node built-in fails the build, and its text must hold no `node:` import or `process.env`.
 *
 * Threads: the page is served from a local HTTP server with COOP/COEP headers, so it is
 * cross-origin isolated and has SharedArrayBuffer; the entry then also runs the 2-thread backend
 * (a Web Worker from the package's src/kernels/wasm/web-worker.ts, bundled the same way and served as /worker.js; the page's
 * main thread spins where Node's would Atomics.wait) and its GEMMs must equal the 1-thread
 * backend's bit for bit and its 5 training steps (every GEMM split) match the reference.
 *
 * Chromium is required, not optional: without it this test fails and says how to install it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import type { BrowserResult } from './entry.js';
import { launchChromium, serveFiles, type Files } from '../helpers/browser.js';
import { requires } from '../helpers/requires.js';

const ENTRY = fileURLToPath(new URL('./entry.ts', import.meta.url));
/** The package's own worker script (`ridgeline/wasm-worker`). */
const WORKER_ENTRY = fileURLToPath(new URL('../../src/kernels/wasm/web-worker.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const WASM_GENERATED = fileURLToPath(new URL('../../src/kernels/wasm/kernels-wasm.ts', import.meta.url));
const TOLERANCE = 1e-5;
const STEPS = 5;

let browser: Browser | undefined;
let server: Server | undefined;
after(async () => {
  await browser?.close();
  server?.close();
});

/**
 * esbuild bundle (ESM, platform browser: the core uses `import.meta.url` for its worker and
 * sample URLs) of one entry, or a failed assertion saying why not.
 */
async function bundle(entry: string) {
  const bundled = await build({
    entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'chrome120',
    write: false, metafile: true, logLevel: 'silent', absWorkingDir: REPO,
  }).catch((e: { errors?: { text: string; location?: { file: string; line: number } | null }[] }) => {
    const why = (e.errors ?? []).map((m) => `${m.location ? `${m.location.file}:${m.location.line}: ` : ''}${m.text}`).join('\n');
    assert.fail(`esbuild could not bundle ${relative(REPO, entry)} (a Node API in the browser-capable core?):\n${why || String(e)}`);
  });
  assert.deepEqual(bundled.warnings.map((w) => w.text), [], 'esbuild warnings');
  return { code: bundled.outputFiles[0].text, inputs: Object.keys(bundled.metafile.inputs) };
}

test('WASM backend in headless Chromium: 5 training steps match the JS reference, on 1 thread and on 2 (a Web Worker)', { timeout: 180_000, ...requires('chromium') }, async () => {
  assert.ok(existsSync(WASM_GENERATED), `${relative(REPO, WASM_GENERATED)} is missing: run \`npm run build\` first`);

  const { code, inputs: pageInputs } = await bundle(ENTRY);
  const worker = await bundle(WORKER_ENTRY);
  const inputs = [...new Set([...pageInputs, ...worker.inputs])];

  // Layering: nothing from src/node/ or the CLI in the graph, no Node API in the text.
  const nodeOnly = inputs.filter((f) => /(^|\/)src\/(node|cli)\/|(^|\/)src\/node\.ts$|^node:/.test(f));
  assert.deepEqual(nodeOnly, [], 'the bundle pulls in Node-only modules');
  for (const text of [code, worker.code]) {
    for (const pattern of [/require\(\s*["']node:/, /from\s*["']node:/, /import\(\s*["']node:/, /process\.env/]) {
      const at = text.search(pattern);
      assert.equal(at, -1, `the bundle contains ${pattern}: …${text.slice(Math.max(0, at - 200), at + 100)}…`);
    }
  }
  // The same in the sources of every bundled module, which also covers code that tree shaking
  // dropped from this bundle but another browser app's bundle would keep.
  const nodeApi = /\bprocess\.[a-z]|\bBuffer\.|\brequire\(|["']node:[a-z]|\b__(dirname|filename)\b/;
  const ours = inputs.filter((f) => !f.includes('node_modules/'));
  const offenders = (await Promise.all(ours.map(async (f) => {
    const lines = (await readFile(join(REPO, f), 'utf8')).split('\n');
    return lines.flatMap((line, i) => nodeApi.test(line) ? [`${f}:${i + 1}: ${line.trim()}`] : []);
  }))).flat();
  assert.deepEqual(offenders, [], 'Node APIs in modules of the browser-capable core');

  // Inline module script: keep a literal "</script" in the code from closing the element.
  const script = code.replace(/<\/(script)/gi, '<\\/$1');
  const files: Files = {
    '/': ['text/html; charset=utf-8', `<!doctype html>
<meta charset="utf-8">
<title>ridgeline wasm</title>
<script type="module">
${script}
</script>
`],
    '/worker.js': ['text/javascript; charset=utf-8', worker.code],
    '/favicon.ico': ['image/x-icon', ''], // else the browser's own request logs a 404
  };
  // Cross-origin isolation (SharedArrayBuffer, hence threads) needs both headers on the page and the worker.
  let url: string;
  ({ server, url } = await serveFiles(files, { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' }));
  browser = await launchChromium();
  const page = await browser.newPage();
  const consoleErrors: string[] = [], pageErrors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => pageErrors.push(e.stack ?? e.message));
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => window.__ridgelineBrowserResult !== undefined, null, { timeout: 120_000 });
  const result = (await page.evaluate(() => window.__ridgelineBrowserResult)) as BrowserResult;

  assert.equal(result.error, undefined, 'the page threw');
  assert.deepEqual(pageErrors, [], 'page errors');
  assert.deepEqual(consoleErrors, [], 'console errors or warnings');

  const rows = result.params.map((p) => `| ${p.name} | ${p.size} | ${p.maxAbs.toExponential(2)} | ${p.maxRel.toExponential(2)} |`);
  console.log(['', `WASM in Chromium (${result.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? result.userAgent}): variant ${result.variant}, ` +
    `relaxed SIMD validates: ${result.relaxedSimdValidates}, ${STEPS} steps in ${result.millis.toFixed(0)} ms, bundle ${(code.length / 1024).toFixed(0)} KiB`,
  `data loss per step (reference / wasm): ${result.losses.map(([a, b]) => `${a.toFixed(5)} / ${b.toFixed(5)}`).join(', ')}`,
  '| parameter | size | max abs. difference | max rel. difference |', '| --- | ---: | ---: | ---: |', ...rows].join('\n'));

  // Relaxed SIMD is on by default in Chromium (156 here), and the backend must then pick it.
  assert.equal(result.relaxedSimdValidates, true, 'WebAssembly.validate rejects a relaxed-SIMD module in this Chromium');
  assert.equal(result.variant, 'relaxed-simd', 'the backend did not choose the relaxed-SIMD module although it validates');

  assert.equal(result.initialMaxAbs, 0, 'same seed, different initial weights');
  assert.equal(result.losses.length, STEPS);
  for (const [k, [a, b]] of result.losses.entries()) {
    assert.ok(Number.isFinite(a) && Math.abs(a - b) <= TOLERANCE * Math.abs(a), `data loss at step ${k + 1}: wasm ${b} vs reference ${a}`);
  }
  assert.ok(result.losses[STEPS - 1][0] < result.losses[0][0], `the loss did not fall: ${result.losses.map((l) => l[0].toFixed(4)).join(' → ')}`);
  assert.equal(result.params.length, 4, 'two dense layers: weight and bias each');
  for (const p of result.params) {
    assert.ok(p.maxRel <= TOLERANCE, `${p.name} after ${STEPS} steps: relative difference ${p.maxRel.toExponential(2)} > ${TOLERANCE} (max abs ${p.maxAbs.toExponential(2)})`);
  }

  // Threads (the page is cross-origin isolated, so they must have run).
  const t = result.threads;
  assert.ok(t, 'the page was not cross-origin isolated (COOP/COEP headers), so the 2-thread backend did not run');
  console.log(`2 threads (Web Worker; main thread spins): ${t.gemmsChecked} GEMMs bit-identical to 1 thread: ${t.gemmMismatches.length === 0}; ` +
    `the worker computed ${t.workerBlocks} of ${t.blocks} blocks; NT 128×256×784 ${t.gflops[0].toFixed(1)} GFLOP/s on 1 thread, ` +
    `${t.gflops[1].toFixed(1)} on 2; params after ${STEPS} split steps, max rel. difference ${Math.max(...t.params.map((p) => p.maxRel)).toExponential(2)}`);
  assert.equal(t.threads, 2);
  assert.deepEqual(t.gemmMismatches, [], '2-thread GEMMs that differ from 1 thread');
  assert.ok(t.workerBlocks > 0, 'the worker computed no GEMM block');
  assert.equal(t.params.length, 4);
  for (const p of t.params) {
    assert.ok(p.maxRel <= TOLERANCE, `${p.name} after ${STEPS} steps on 2 threads: relative difference ${p.maxRel.toExponential(2)} > ${TOLERANCE}`);
  }

  // The CNN: the wasm convolution, pooling and per-channel kernels in this browser.
  const cnn = result.cnn;
  assert.ok(cnn, 'the CNN part did not run');
  console.log(`CNN ${cnn.arch}, ${STEPS} steps: ${cnn.params.map((p) => `${p.name} ${p.maxRel.toExponential(1)} rel. / ${p.maxAbs.toExponential(1)} abs.`).join(', ')}; ` +
    `data loss (reference / wasm) ${cnn.losses.map(([a, b]) => `${a.toFixed(5)} / ${b.toFixed(5)}`).join(', ')}`);
  assert.equal(cnn.params.length, 10, 'two conv layers (kernel, bias), two BatchNorms (γ, β), one dense layer (weight, bias)');
  for (const [k, [a, b]] of cnn.losses.entries()) {
    assert.ok(Number.isFinite(a) && Math.abs(a - b) <= TOLERANCE * Math.abs(a), `CNN data loss at step ${k + 1}: wasm ${b} vs reference ${a}`);
  }
  // A conv bias followed by BatchNorm has a zero gradient in exact arithmetic (BN subtracts the
  // channel mean), so it holds only rounding noise around its initial 0: judged in absolute terms.
  for (const p of cnn.params) {
    const underBn = /^conv\d+\.bias$/.test(p.name);
    assert.ok(underBn ? p.maxAbs <= 1e-6 : p.maxRel <= TOLERANCE,
      `CNN ${p.name} after ${STEPS} steps: difference ${p.maxRel.toExponential(2)} relative, ${p.maxAbs.toExponential(2)} absolute`);
  }
});
