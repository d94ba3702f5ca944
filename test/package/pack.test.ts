/**
 * The package as a user gets it: `npm pack` of this repository (dist/ rebuilt from the sources
 * first), installed into a scratch project in a temporary directory (from npm's cache when it
 * can, else with the registry for what the cache lacks; the tarball's install script builds the
 * native addon there), and used only through its public entry points, `ridgeline` and
 * `ridgeline/node`:
 *
 *  - Node (node-app.mjs): `selectBackend('auto')` picks native, as the CLI does; a small MLP
 *    trains 8 steps on wasm and on native (train-steps.mjs), and each model is saved to bytes
 *    and to a file and loaded back with the same test accuracy. The two backends' weights agree
 *    within the backends' tolerance.
 *  - Browser (browser-app.mjs): esbuild bundles `ridgeline` for platform 'browser' with no
 *    warning and no Node module in the graph or `node:` import in the text, and the bundle runs
 *    in Chromium: cross-origin isolated (COOP/COEP), `auto` is wasm on two threads, the second
 *    a Worker from the package's worker script at the URL the bundle resolves, both on the page
 *    and with the training inside a module Worker (the second thread is then a nested worker);
 *    without those headers, one thread. The embedded sample comes over fetch with
 *    `Content-Encoding: gzip` (the browser inflates it, and the gzip sniffing must then leave it
 *    alone), and the weights after the same 8 steps match the Node wasm run's.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { FASHION_MNIST_FILES } from '../../src/data/bytes.js';
import { EMBEDDED_SAMPLE_DIR, loadSample } from '../../src/node/datasets.js';
import { difference } from '../helpers/close.js';
import { CHROMIUM, requires } from '../helpers/requires.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const HERE = fileURLToPath(new URL('./', import.meta.url));
const APP_FILES = ['train-steps.mjs', 'node-app.mjs', 'browser-app.mjs', 'page.mjs', 'train-worker.mjs', 'worker-page.mjs'];
const STEPS = 8;
/** Norm-wise relative difference allowed between backends (the parity tests' tolerance). */
const TOLERANCE = 1e-5;

interface Run {
  backend: string; steps: number; losses: number[]; bytes: number; metadata: Record<string, string>;
  accuracy: number; reloadedAccuracy: number; weights: number[]; fileAccuracy?: number;
}
interface BrowserRun extends Run {
  error?: string; threads: number; variant: string; crossOriginIsolated: boolean; inWorker: boolean; notices: string[];
  trainCount: number; testCount: number; pixelSum: number;
}

let tmp = '';
let app = '';
let nodeWasm: Run | undefined;
let browser: Browser | undefined;
let server: Server | undefined;

function run(command: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' } });
}
function check(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what} failed (status ${r.status}):\n${r.stderr || ''}${r.stdout || ''}${r.error ?? ''}`);
  return r.stdout;
}

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ridgeline-pack-'));
  // dist/ from the sources under test (the generated wasm module is npm ci's); pack without
  // `prepare`, which would also regenerate that module under tests that are reading it.
  check(run('npm', ['run', 'build:dist'], REPO), 'npm run build:dist');
  check(run('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp], REPO), 'npm pack');
  const tarball = (await readdir(tmp)).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack wrote no tarball');
  app = join(tmp, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  for (const f of APP_FILES) await copyFile(join(HERE, f), join(app, f));
  // From npm's cache alone when it holds everything (it holds the packages, but often not the
  // registry's metadata that resolving them needs); else the registry fills in.
  const install = ['install', join(tmp, tarball)];
  const offline = run('npm', [...install, '--offline'], app);
  if (offline.status !== 0) check(run('npm', [...install, '--prefer-offline'], app), 'npm install of the tarball');
  console.log(`installed the tarball ${offline.status === 0 ? 'offline' : 'with the registry (the cache could not resolve it alone)'}`);
}, { timeout: 600_000 });

after(async () => {
  await browser?.close();
  server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('Node, from the packed tarball: auto is native; wasm and native train, save and load through ridgeline and ridgeline/node', { timeout: 300_000 }, () => {
  const out = JSON.parse(check(run(process.execPath, ['node-app.mjs', 'wasm', 'native'], app), 'node-app.mjs')) as { auto: string; native: string; runs: Run[] };
  assert.equal(out.auto, 'native', 'selectBackend("auto") under Node must pick the native backend, as the CLI does');
  assert.equal(out.native, 'native');
  assert.deepEqual(out.runs.map((r) => r.backend), ['wasm', 'native']);
  for (const r of out.runs) {
    assert.equal(r.steps, STEPS);
    assert.ok(r.losses.length === STEPS && r.losses.every(Number.isFinite), `${r.backend} losses ${r.losses}`);
    assert.ok(r.losses[STEPS - 1] < r.losses[0], `${r.backend}: the loss did not fall: ${r.losses.map((l) => l.toFixed(3)).join(' → ')}`);
    assert.ok(r.accuracy > 0.3, `${r.backend}: test accuracy after ${STEPS} steps is ${r.accuracy}`);
    assert.equal(r.reloadedAccuracy, r.accuracy, `${r.backend}: the model loaded from Trainer.save() bytes evaluates differently`);
    assert.equal(r.fileAccuracy, r.accuracy, `${r.backend}: the model loaded from the file evaluates differently`);
    assert.equal(r.metadata.epoch, '1');
    assert.equal(r.metadata.note, 'packed');
    assert.equal(JSON.parse(r.metadata.training).batchSize, 64);
  }
  const [wasm, native] = out.runs;
  const d = difference(wasm.weights, native.weights);
  console.log(`packed tarball under Node: wasm vs native dense1 weights after ${STEPS} steps, max rel. difference ${d.maxRel.toExponential(2)}; ` +
    `model file ${wasm.bytes} B; test accuracy ${wasm.accuracy} / ${native.accuracy}`);
  assert.ok(d.maxRel <= TOLERANCE, `wasm and native weights differ by ${d.maxRel.toExponential(2)} (relative) after ${STEPS} steps`);
  nodeWasm = wasm;
});

/** esbuild bundle of the scratch project's code, resolving `ridgeline` from its node_modules as a user's build would. */
async function bundle(options: { entry: string } | { stdin: string }) {
  const bundled = await build({
    ...('entry' in options ? { entryPoints: [options.entry] } : { stdin: { contents: options.stdin, resolveDir: app, loader: 'js' } }),
    bundle: true, format: 'esm', platform: 'browser', target: 'chrome120',
    write: false, metafile: true, logLevel: 'silent', absWorkingDir: app,
  }).catch((e: { errors?: { text: string }[] }) => assert.fail(`esbuild could not bundle ridgeline for the browser:\n${(e.errors ?? []).map((m) => m.text).join('\n') || String(e)}`));
  assert.deepEqual(bundled.warnings.map((w) => w.text), [], 'esbuild warnings');
  const inputs = Object.keys(bundled.metafile.inputs);
  const nodeOnly = inputs.filter((f) => /^node:|ridgeline\/dist\/(node|cli)\/|ridgeline\/dist\/(node|index\.node)\.js|select-node\.js|kernels\/native\/|kernels\/wasm\/node(-worker)?\.js/.test(f));
  assert.deepEqual(nodeOnly, [], 'the browser bundle pulls in Node-only modules');
  const code = bundled.outputFiles[0].text;
  for (const pattern of [/["']node:[a-z]/, /process\.env/]) {
    const at = code.search(pattern);
    assert.equal(at, -1, `the bundle contains ${pattern}: …${code.slice(Math.max(0, at - 200), at + 100)}…`);
  }
  return { code, inputs };
}

test('browser bundle of the packed tarball: no Node module; in Chromium, on a page and in a Worker, wasm on 2 threads when cross-origin isolated (1 otherwise), the sample over fetch, train, save, load', { timeout: 300_000, ...requires('chromium') }, async () => {
  const scripts: Record<string, string> = {};
  for (const name of ['page', 'worker-page', 'train-worker']) {
    const { code, inputs } = await bundle({ entry: `./${name}.mjs` });
    if (name === 'page') {
      assert.ok(inputs.some((f) => f.includes('node_modules/ridgeline/dist/')), `the bundle did not take ridgeline from the installed package: ${inputs.slice(0, 5).join(', ')}`);
      console.log(`browser bundle: ${(code.length / 1024).toFixed(0)} KiB, ${inputs.length} modules`);
    }
    scripts[`/${name}.js`] = code;
  }
  scripts['/wasm/web-worker.js'] = (await bundle({ stdin: "import 'ridgeline/wasm-worker';" })).code;
  const html = (script: string) => `<!doctype html>\n<meta charset="utf-8">\n<title>ridgeline</title>\n<script type="module" src="${script}"></script>\n`;
  const files: Record<string, string> = { '/': html('page.js'), '/worker.html': html('worker-page.js'), ...scripts };

  const sample = Object.fromEntries(await Promise.all(Object.values(FASHION_MNIST_FILES).map(async (name) =>
    [`/sample/${name}.gz`, await readFile(join(EMBEDDED_SAMPLE_DIR, `${name}.gz`))] as const)));
  // /iso/… is served cross-origin isolated, /plain/… without the headers. A bundle resolves the
  // package's worker as ./wasm/web-worker.js next to itself, as Vite or webpack would emit it.
  server = createServer((req, res) => {
    const url = req.url ?? '';
    if (url === '/favicon.ico') { res.writeHead(204).end(); return; } // else the browser's own request logs a 404
    const gz = sample[url];
    if (gz) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip', 'cross-origin-resource-policy': 'same-origin' }).end(gz);
      return;
    }
    const m = /^\/(iso|plain)(\/.*)$/.exec(url);
    const body = m && files[m[2]];
    if (!m || body === undefined) { res.writeHead(404).end(); return; }
    res.writeHead(200, {
      'content-type': m[2].endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/html; charset=utf-8',
      ...(m[1] === 'iso' ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {}),
    }).end(body);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  async function visit(path: string): Promise<BrowserRun> {
    const tab = await browser!.newPage();
    const problems: string[] = [];
    tab.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
    tab.on('pageerror', (e) => problems.push(e.stack ?? e.message));
    tab.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    await tab.goto(`${origin}${path}`, { waitUntil: 'load' });
    await tab.waitForFunction(() => (window as unknown as { __ridgelineResult?: unknown }).__ridgelineResult !== undefined, null, { timeout: 120_000 });
    const result = (await tab.evaluate(() => (window as unknown as { __ridgelineResult: unknown }).__ridgelineResult)) as BrowserRun;
    await tab.close();
    assert.equal(result.error, undefined, `${path}: the page threw`);
    assert.deepEqual(problems, [], `${path}: console errors, page errors or failed requests`);
    return result;
  }

  const { train } = await loadSample();
  const pixelSum = train.images.reduce((s, v) => s + v, 0);
  const iso = await visit('/iso/');
  const inWorker = await visit('/iso/worker.html');
  const plain = await visit('/plain/');
  for (const [name, r, threads] of [['isolated', iso, 2], ['isolated, in a Worker', inWorker, 2], ['not isolated', plain, 1]] as const) {
    assert.equal(r.crossOriginIsolated, threads === 2, `${name}: crossOriginIsolated`);
    assert.equal(r.inWorker, r === inWorker, `${name}: ran in a worker`);
    assert.equal(r.backend, 'wasm', `${name}: auto must pick wasm in a browser`);
    assert.equal(r.threads, threads, `${name}: wasm threads`);
    assert.equal(r.variant, 'relaxed-simd');
    assert.deepEqual(r.notices, [], `${name}: auto fell back`);
    assert.equal(r.trainCount, 4000);
    assert.equal(r.testCount, 1000);
    assert.equal(r.pixelSum, pixelSum, `${name}: the sample read over fetch differs from the one Node reads`);
    assert.equal(r.steps, STEPS);
    assert.ok(r.losses[STEPS - 1] < r.losses[0], `${name}: the loss did not fall`);
    assert.equal(r.reloadedAccuracy, r.accuracy, `${name}: the reloaded model evaluates differently`);
    assert.equal(r.metadata.epoch, '1');
    assert.ok(difference(r.weights, iso.weights).maxRel <= TOLERANCE, `${name}: weights differ from the isolated page's`);
  }
  assert.ok(nodeWasm, 'the Node test did not run first');
  const vsNode = difference(iso.weights, nodeWasm.weights);
  console.log(`Chromium, packed bundle: 2 threads on the page vs Node wasm, max rel. difference ${vsNode.maxRel.toExponential(2)}; ` +
    `in a Worker ${difference(inWorker.weights, iso.weights).maxRel.toExponential(2)} and on 1 thread ${difference(plain.weights, iso.weights).maxRel.toExponential(2)} from the page's; test accuracy ${iso.accuracy}`);
  assert.ok(vsNode.maxRel <= TOLERANCE, `browser and Node wasm weights differ by ${vsNode.maxRel.toExponential(2)}`);
});
