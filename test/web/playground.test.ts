/**
 * The playground (web/) as a user gets it: `npm run web:build`, web/dist served on localhost by
 * a plain static server with the COOP/COEP headers, driven in Debian's Chromium.
 *
 *  - every view loads with no console error or warning, no page error and no request outside
 *    the page's origin (the workers' requests included), and every control is labelled and
 *    reachable with the keyboard (axe-core, and a Tab walk through each view);
 *  - Convert shows the library's `convert` numbers, read in Node, for five conventions;
 *  - Train live, for a fixed seed, ends with the weights the js reference backend reaches in
 *    Node with the same config and rows (1e-5 norm-wise, the wasm backend's tolerance), and the
 *    default MLP's 10 epochs are timed on 1 and 2 threads (reported, not asserted);
 *  - the mini-study finishes and draws its plots, and its analysis is the one Node computes from
 *    the trials it published;
 *  - served without COOP/COEP (a static host that sends neither), the page trains on one thread.
 *
 * A screenshot of each view goes to a temp directory (printed); with
 * RIDGELINE_UPDATE_FIGURES=1 also to docs/figures/playground-<view>.png for the README.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { splitValidation } from '../../src/data/dataset.js';
import { jsBackend } from '../../src/kernels/js/index.js';
import { EMBEDDED_SAMPLE_DIR, loadIdxDirectory } from '../../src/node/datasets.js';
import { CONVENTIONS, parseCoefficient } from '../../src/regularization/conventions.js';
import { convert, type ConvertContext } from '../../src/regularization/convert.js';
import { analyzeStudy, type AxisAnalysis } from '../../src/study/analysis.js';
import type { StudyConfig } from '../../src/study/config.js';
import type { TrialResult } from '../../src/study/run-trial.js';
import { Trainer, type EpochMetrics, type TrainConfig } from '../../src/train/trainer.js';
import { runConfig, type RunOptions } from '../../web/src/run-config.js';
import { assertClose } from '../helpers/close.js';
import { requires } from '../helpers/requires.js';
import { buildSite, DIST, launch, REPO, serve, watchedPage, type Watched } from './site.js';

const VIEWS = ['convert', 'train', 'transfer', 'evidence', 'why'] as const;
const TOLERANCE = 1e-5;
const chromium = requires('chromium');
const artifacts = mkdtempSync(join(tmpdir(), 'ridgeline-playground-'));
const updateFigures = process.env.RIDGELINE_UPDATE_FIGURES === '1';

let browser: Browser | undefined;
let isolated: { url: string; server: Server } | undefined;
let w: Watched;

before(async () => {
  if (chromium.skip) return;
  const { seconds } = buildSite();
  const files = readdirSync(join(DIST, 'assets'));
  const bytes = (f: string) => statSync(join(DIST, 'assets', f)).size;
  const code = files.filter((f) => f.endsWith('.js')).reduce((s, f) => s + bytes(f), 0);
  const data = files.filter((f) => f.endsWith('.gz')).reduce((s, f) => s + bytes(f), 0);
  console.log(`web/dist built in ${seconds.toFixed(1)} s: JavaScript ${(code / 1024).toFixed(0)} KiB (${files.filter((f) => f.endsWith('.js')).length} files), sample data ${(data / 1024).toFixed(0)} KiB; screenshots in ${artifacts}`);
  isolated = await serve(DIST, true);
  browser = await launch();
  w = await watchedPage(browser, isolated.url);
});
after(async () => {
  await browser?.close();
  isolated?.server.close();
});

async function open(page: Page, url: string, view: string): Promise<void> {
  await page.goto(`${url}#${view}`);
  await page.waitForSelector(`#${view}[data-ready]`, { timeout: 60_000 });
}

async function screenshot(page: Page, view: string): Promise<void> {
  await page.screenshot({ path: join(artifacts, `playground-${view}.png`), fullPage: true });
  if (updateFigures) await page.screenshot({ path: join(REPO, 'docs/figures', `playground-${view}.png`), fullPage: true });
}

function assertClean(watched: Watched): void {
  assert.deepEqual(watched.problems.pageErrors, [], 'page errors');
  assert.deepEqual(watched.problems.console, [], 'console errors or warnings');
  assert.deepEqual(watched.problems.foreign, [], 'requests outside the page\'s origin');
}

test('the bundle imports no Node built-in', chromium, () => {
  const offenders = readdirSync(join(DIST, 'assets')).filter((f) => f.endsWith('.js'))
    .filter((f) => /(from|import\(|require\()\s*["']node:/.test(readFileSync(join(DIST, 'assets', f), 'utf8')));
  assert.deepEqual(offenders, []);
});

test('every view loads: no console error, no page error, no request outside localhost; labelled, keyboard-reachable controls', { ...chromium, timeout: 180_000 }, async () => {
  const axe = readFileSync(join(REPO, 'node_modules/axe-core/axe.min.js'), 'utf8');
  for (const view of VIEWS) {
    await open(w.page, isolated!.url, view);
    if (view !== 'train' && view !== 'transfer') await screenshot(w.page, view);
    // axe-core, injected as text (no request), on the visible view.
    await w.page.addScriptTag({ content: axe });
    const violations = await w.page.evaluate(async () => {
      const r = await (window as unknown as { axe: { run(c: unknown, o: unknown): Promise<{ violations: { id: string; help: string; nodes: { target: unknown }[] }[] }> } })
        .axe.run(document, { runOnly: ['wcag2a', 'wcag2aa'] });
      return r.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')})`);
    });
    assert.deepEqual(violations, [], `axe-core on #${view}`);
    // Tab from the view's tab through the page: every enabled control of the view gets the focus.
    const controls = await w.page.$$eval(`#${view} :is(input, select, button):not([disabled])`, (es) => es.map((e) => e.id || e.outerHTML.slice(0, 80)));
    assert.ok(controls.length > 0 || view === 'why' || view === 'evidence', `#${view} has no controls`);
    await w.page.focus(`#tab-${view}`);
    const reached = new Set<string>();
    for (let i = 0; i < controls.length + 3; i++) {
      await w.page.keyboard.press('Tab');
      reached.add(await w.page.evaluate(() => document.activeElement?.id || document.activeElement?.outerHTML.slice(0, 80) || ''));
    }
    assert.deepEqual(controls.filter((c) => !reached.has(c)), [], `controls of #${view} the Tab key does not reach`);
  }
  // The arrow keys move between the tabs.
  await w.page.focus('#tab-convert');
  await w.page.keyboard.press('ArrowRight');
  assert.equal(await w.page.evaluate(() => document.activeElement?.id), 'tab-train');
  assert.equal(await w.page.isVisible('#train'), true);
  assertClean(w);
});

/** The five sources: coupled with and without context, per-batch, decoupled, and a timescale; under sgd, momentum and adamw. */
const CONVERSIONS: { from: string; ctx: ConvertContext }[] = [
  { from: 'pytorch-sgd:weight_decay=5e-4', ctx: { optimizer: 'sgd', lr: 0.1, batch: 128, n: 50000, momentum: 0, epochs: 10, params: 268800 } },
  { from: 'sklearn-mlp:alpha=0.064', ctx: { optimizer: 'momentum', lr: 0.05, batch: 32, n: 60000, momentum: 0.9, epochs: 20, params: 101632 } },
  { from: 'bengio:c=12.5', ctx: { optimizer: 'nesterov', lr: 0.02, batch: 256, n: 7500, momentum: 0.8, epochs: 40, params: 335872 } },
  { from: 'pytorch-adamw:weight_decay=0.01', ctx: { optimizer: 'adamw', lr: 1e-3, batch: 128, n: 50000, epochs: 30, params: 268800 } },
  { from: 'timescale:tau=20', ctx: { optimizer: 'sgd', lr: 0.3, batch: 64, n: 3600, momentum: 0, epochs: 5, params: 50176 } },
];

test('Convert shows the library\'s convert() for five conventions: every other convention, δ per step, shrink per epoch, exactness', { ...chromium, timeout: 120_000 }, async () => {
  const { page } = w;
  await open(page, isolated!.url, 'convert');
  for (const { from, ctx } of CONVERSIONS) {
    const given = parseCoefficient(from, 'seed', 'test');
    const expected = convert(given, ctx);
    await page.selectOption('#cv-convention', given.convention.id);
    await page.selectOption('#cv-optimizer', ctx.optimizer);
    const fields: [string, number | undefined][] = [['#cv-value', given.value], ['#cv-lr', ctx.lr], ['#cv-batch', ctx.batch], ['#cv-n', ctx.n],
      ['#cv-epochs', ctx.epochs], ['#cv-params', ctx.params], ...(ctx.momentum ? [['#cv-momentum', ctx.momentum] as [string, number]] : [])];
    for (const [sel, v] of fields) await page.fill(sel, String(v));
    const shown = await page.evaluate(() => ({
      canonical: document.querySelector('#cv-canonical')?.getAttribute('data-value'),
      delta: document.querySelector('#cv-shrink')?.getAttribute('data-delta'),
      epoch: document.querySelector('#cv-shrink')?.getAttribute('data-epoch-shrink'),
      rows: [...document.querySelectorAll('#cv-table tbody tr')].map((tr) => {
        const td = tr.querySelectorAll('td');
        return { convention: tr.getAttribute('data-convention'), value: td[2].getAttribute('data-value'), text: td[2].textContent, formula: td[3].textContent, exactness: td[4].textContent };
      }),
    }));
    assert.equal(Number(shown.canonical), expected.canonical.value, `${from}: canonical value`);
    assert.equal(shown.delta === '' ? null : Number(shown.delta), expected.deltaPerStep, `${from}: δ per step`);
    assert.equal(shown.epoch === '' ? null : Number(shown.epoch), expected.shrinkPerEpoch, `${from}: shrink per epoch`);
    assert.equal(shown.rows.length, CONVENTIONS.length - 1, `${from}: every other convention`);
    for (const r of expected.results) {
      const row = shown.rows.find((x) => x.convention === r.convention);
      assert.ok(row, `${from}: no row for ${r.convention}`);
      assert.equal(row.value === '' ? null : Number(row.value), r.value, `${from} → ${r.convention}`);
      assert.equal(row.text, r.value === null ? '—' : String(Number(r.value.toPrecision(6))), `${from} → ${r.convention}: shown as convert prints it`);
      assert.equal(row.formula, r.formula);
      assert.equal(row.exactness, r.exactness ?? 'no equivalent', `${from} → ${r.convention}: exactness`);
    }
  }
  assertClean(w);
});

interface PublishedRun { state: string; error?: string; config?: TrainConfig; backend?: string; history: EpochMetrics[]; elapsed: number[]; setupSeconds?: number; weights?: Record<string, number[]> }

/** Fills the Train-live form, starts, and waits for the run to end; the run as published, weights as arrays. */
async function trainInPage(page: Page, o: RunOptions, threads: number): Promise<PublishedRun> {
  await page.click('#tr-reset');
  const set: [string, number][] = [['#tr-width', o.hidden[0]], ['#tr-depth', o.hidden.length], ['#tr-batch', o.batch], ['#tr-lr', o.lr],
    ['#tr-coefficient', o.coefficient], ['#tr-epochs', o.epochs], ['#tr-seed', o.seed]];
  await page.selectOption('#tr-optimizer', o.optimizer);
  if (o.optimizer === 'momentum' || o.optimizer === 'nesterov') set.push(['#tr-momentum', o.momentum]);
  for (const [sel, v] of set) await page.fill(sel, String(v));
  await page.selectOption('#tr-convention', o.convention);
  await page.setChecked('#tr-bn', o.batchNorm);
  await page.selectOption('#tr-threads', String(threads));
  await page.click('#tr-start');
  await page.waitForFunction(() => ['done', 'error'].includes((window as unknown as { __ridgelinePlayground: { train: { state: string } } }).__ridgelinePlayground.train.state), null, { timeout: 240_000 });
  return page.evaluate(() => {
    const t = (window as unknown as { __ridgelinePlayground: { train: PublishedRun & { weights?: Record<string, Float32Array> } } }).__ridgelinePlayground.train;
    return { ...t, weights: t.weights && Object.fromEntries(Object.entries(t.weights).map(([k, v]) => [k, Array.from(v)])) } as PublishedRun;
  });
}

/** The same run on the js reference backend in Node: the sample from data/sample/, split and configured as the page does. */
async function referenceRun(o: RunOptions): Promise<{ config: TrainConfig; trainer: Trainer }> {
  const { train: pool } = await loadIdxDirectory(EMBEDDED_SAMPLE_DIR);
  const { train, validation } = splitValidation(pool, o.validation, o.seed);
  const { config } = runConfig(o, train.shape, train.classes, train.count);
  const trainer = new Trainer(config, jsBackend, train, validation);
  await trainer.fit();
  return { config, trainer };
}

test('Train live: fixed-seed runs end with the js reference\'s weights (momentum, nesterov with BatchNorm, AdamW; 1 and 2 threads)', { ...chromium, timeout: 300_000 }, async () => {
  const { page } = w;
  await open(page, isolated!.url, 'train');
  const cases: [RunOptions, number][] = [
    [{ hidden: [32], batchNorm: false, batch: 128, optimizer: 'momentum', lr: 0.05, momentum: 0.9, convention: 'sklearn-mlp', coefficient: 0.064, epochs: 1, seed: 7, validation: 0.1 }, 2],
    [{ hidden: [24, 24], batchNorm: true, batch: 100, optimizer: 'nesterov', lr: 0.02, momentum: 0.8, convention: 'pytorch-sgd', coefficient: 5e-4, epochs: 2, seed: 3, validation: 0.1 }, 1],
    [{ hidden: [32], batchNorm: false, batch: 64, optimizer: 'adamw', lr: 2e-3, momentum: 0.9, convention: 'pytorch-adamw', coefficient: 0.05, epochs: 1, seed: 5, validation: 0.1 }, 2],
  ];
  for (const [o, threads] of cases) {
    const run = await trainInPage(page, o, threads);
    assert.equal(run.error, undefined, 'the run failed in the page');
    assert.equal(run.state, 'done');
    assert.match(run.backend ?? '', new RegExp(`^wasm \\(relaxed-simd\\) on ${threads} thread`));
    const ref = await referenceRun(o);
    assert.deepEqual(run.config, JSON.parse(JSON.stringify(ref.config)), 'the page built another config than run-config.ts does in Node');
    assert.equal(run.history.length, o.epochs);
    const params = ref.trainer.model.params;
    assert.deepEqual(Object.keys(run.weights ?? {}), params.map((p) => p.name));
    // A dense bias followed by BatchNorm has a zero gradient in exact arithmetic (BN subtracts the
    // mean): it holds rounding noise around 0, judged in absolute terms (as test/browser does).
    const underBn = (name: string) => o.batchNorm && /^dense\d+\.bias$/.test(name) && name !== `dense${o.hidden.length + 1}.bias`;
    const rows = params.map((p) => {
      if (!underBn(p.name)) return `${p.name} ${assertClose(run.weights![p.name], p.value, TOLERANCE, `${p.name} after ${ref.trainer.step} steps`).maxRel.toExponential(1)}`;
      const abs = Math.max(...p.value.map((v, i) => Math.abs(v - run.weights![p.name][i])));
      assert.ok(abs <= 1e-6, `${p.name} (ahead of BatchNorm) after ${ref.trainer.step} steps: max abs. difference ${abs}`);
      return `${p.name} ${abs.toExponential(1)} abs.`;
    });
    console.log(`${o.hidden.join('-')}${o.batchNorm ? ' BN' : ''} ${o.optimizer} on ${threads} thread(s), ${ref.trainer.step} steps: max rel. difference to js: ${rows.join(', ')}`);
    for (const [k, h] of run.history.entries()) {
      assert.ok(Math.abs(h.data_loss - ref.trainer.history[k].data_loss) <= TOLERANCE * ref.trainer.history[k].data_loss, `epoch ${k + 1} data loss ${h.data_loss} vs ${ref.trainer.history[k].data_loss}`);
    }
  }
  // The workers' requests are observed (else the check for foreign requests would be blind to them).
  for (const asset of [/train-worker-[\w-]+\.js$/, /web-worker-[\w-]+\.js$/, /train-images-idx3-ubyte-[\w-]+\.gz$/]) {
    assert.ok(w.requests.some((u) => asset.test(u)), `no request for ${asset} seen: ${w.requests.join(', ')}`);
  }
  assertClean(w);
});

test('Train live: the default MLP (784-256-256-10) for 10 epochs, on 1 and 2 threads (time reported)', { ...chromium, timeout: 300_000 }, async () => {
  const { page } = w;
  await open(page, isolated!.url, 'train');
  const o: RunOptions = { hidden: [256, 256], batchNorm: false, batch: 128, optimizer: 'momentum', lr: 0.05, momentum: 0.9, convention: 'seed', coefficient: 1e-4, epochs: 10, seed: 1, validation: 0.1 };
  for (const threads of [1, 2]) {
    const run = await trainInPage(page, o, threads);
    assert.equal(run.state, 'done', run.error);
    assert.equal(run.history.length, 10);
    const [first, last] = [run.history[0], run.history[9]];
    assert.ok(last.data_loss < first.data_loss && (last.val_accuracy ?? 0) > 0.7, `did not learn: ${first.data_loss} → ${last.data_loss}, validation ${last.val_accuracy}`);
    console.log(`default MLP, 10 epochs (3600 rows each, validation after each) on ${run.backend}: ${run.elapsed[9].toFixed(2)} s ` +
      `(+ ${run.setupSeconds?.toFixed(2)} s to load the backend and data), validation accuracy ${(100 * last.val_accuracy!).toFixed(2)}%`);
    if (threads === 2) await screenshot(page, 'train');
  }
  assertClean(w);
});

interface PublishedStudy { state: string; error?: string; config: StudyConfig; trials: number; done: number; seconds: number; workers: number; results: TrialResult[]; analysis: AxisAnalysis | null }

test('Does it transfer?: the mini-study runs, draws its plots, and its analysis is the study\'s (recomputed in Node)', { ...chromium, timeout: 600_000 }, async () => {
  const { page } = w;
  await open(page, isolated!.url, 'transfer');
  await page.click('#st-run');
  await page.waitForFunction(() => ['done', 'error'].includes((window as unknown as { __ridgelinePlayground: { transfer: { state: string } } }).__ridgelinePlayground.transfer.state), null, { timeout: 540_000 });
  const st = await page.evaluate(() => (window as unknown as { __ridgelinePlayground: { transfer: PublishedStudy } }).__ridgelinePlayground.transfer);
  assert.equal(st.state, 'done', st.error);
  assert.equal(st.done, st.trials);
  assert.equal(st.results.length, st.trials);
  const analysis = analyzeStudy(st.config.name, st.results, st.config.metric);
  assert.ok(analysis && st.analysis, 'no analysis');
  assert.equal(analysis.optima.length, st.config.values.length, 'an optimum per scale value');
  // Chromium's V8 and Node's may round Math.log2 and Math.pow differently in the last bit.
  const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${what}: page ${a}, Node ${b}`);
  analysis.optima.forEach((o, i) => near(st.analysis!.optima[i].optimum, o.optimum, `optimum at ${o.value}`));
  assert.deepEqual(st.analysis.movements.map((m) => m.convention), analysis.movements.map((m) => m.convention));
  analysis.movements.forEach((m, i) => {
    const p = st.analysis!.movements[i];
    near(p.slope, m.slope, `${m.convention} slope`);
    near(p.ci[0], m.ci[0], `${m.convention} interval`);
    near(p.ci[1], m.ci[1], `${m.convention} interval`);
    assert.equal(p.verdict, m.verdict);
  });
  const seed = analysis.movements.find((m) => m.convention === 'seed')!, perWeight = analysis.movements.find((m) => m.convention === 'per-weight')!;
  // P = 794·w for 784-w-10, so the per-weight coefficient λ_E·P moves one octave per doubling more than λ_E.
  assert.ok(Math.abs(perWeight.slope - seed.slope - 1) < 1e-9, `per-weight − seed: ${perWeight.slope - seed.slope}`);
  const plots = await page.$$eval('#st-plots figure', (fs) => fs.map((f) => ({ plot: f.getAttribute('data-plot'), svg: f.querySelector('svg') !== null, marks: f.querySelectorAll('circle, path').length })));
  assert.deepEqual(plots.map((p) => [p.plot, p.svg]), [['curves', true], ['movement', true]]);
  assert.ok(plots.every((p) => p.marks > 5), `plots with too few marks: ${JSON.stringify(plots)}`);
  assert.ok((await page.textContent('#st-answer'))!.includes('seed:lambda'), 'the answer names the seed convention');
  console.log(`mini-study (${st.config.values.join(', ')} × ${st.config.seeds.length} seeds, ${st.config.budget.epochs} epochs on ${st.config.base.trainSize} rows): ` +
    `${st.trials} trials in ${st.seconds.toFixed(1)} s on ${st.workers} workers; λ_E moved ${seed.slope.toFixed(2)} [${seed.ci.map((v) => v.toFixed(1)).join(', ')}], per-weight ${perWeight.slope.toFixed(2)} octaves per doubling`);
  await screenshot(page, 'transfer');
  assertClean(w);
});

test('served without COOP/COEP (a plain static host), the page trains on one thread', { ...chromium, timeout: 120_000 }, async () => {
  const plain = await serve(DIST, false);
  try {
    const watched = await watchedPage(browser!, plain.url);
    await open(watched.page, plain.url, 'train');
    assert.deepEqual(await watched.page.$$eval('#tr-threads option', (os) => os.map((o) => o.textContent)), ['1']);
    const run = await trainInPage(watched.page, { hidden: [16], batchNorm: false, batch: 128, optimizer: 'sgd', lr: 0.1, momentum: 0, convention: 'seed', coefficient: 1e-4, epochs: 1, seed: 1, validation: 0.1 }, 1);
    assert.equal(run.state, 'done', run.error);
    assert.match(run.backend ?? '', /on 1 thread$/);
    assertClean(watched);
    await watched.page.close();
  } finally {
    plain.server.close();
  }
});
