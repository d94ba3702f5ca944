/**
 * The generated report in a real browser (headless Chromium through playwright-core): it loads
 * from file:// with no console errors, no page errors, no dialogs (a study named
 * <script>alert(1)</script> must stay text) and no network request but the document itself;
 * every plot is an SVG with a nonzero box; a screenshot goes to test-artifacts/report.png.
 *
 * Without Chromium this test skips, naming the package (RIDGELINE_REQUIRE_ALL=1, as in CI, makes it fail instead).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { writeReport } from '../../src/report/write.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { syntheticResults, widthConfig, writeStudyDir } from './fixtures.js';
import { CHROMIUM, requires } from '../helpers/requires.js';

const HOSTILE = '<script>alert(1)</script>';

test('report.html renders in headless Chromium: plots drawn, nothing fetched, no errors', { timeout: 120_000, ...requires('chromium') }, async () => {

  const dir = await mkdtemp(join(tmpdir(), 'ridgeline-report-browser-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    // Two studies: one where seed:lambda transfers (λ_E* fixed), one with a hostile name where
    // per-weight:c does (λ_E* ∝ 1/width). Other widths, or the trial ids would coincide.
    const a = widthConfig('width', [16, 32, 64, 128]);
    const b = widthConfig(HOSTILE, [24, 48, 96]);
    await writeStudyDir(dir, [a, b], [...syntheticResults(a, () => 1e-3), ...syntheticResults(b, (w) => 1e-3 * (24 / w))]);
    const { paths } = await writeReport(dir);
    const url = pathToFileURL(paths.html).href;

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const consoleErrors: string[] = [], pageErrors: string[] = [], requests: string[] = [], dialogs: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('request', (r) => requests.push(r.url()));
    page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
    await page.goto(url, { waitUntil: 'load' });

    assert.deepEqual(consoleErrors, [], 'console errors or warnings (a CSP violation shows up here)');
    assert.deepEqual(pageErrors, [], 'page errors');
    assert.deepEqual(dialogs, [], 'a dialog opened: some text ran as script');
    assert.deepEqual(requests, [url], 'the only request is the document itself');

    assert.equal(await page.locator('script').count(), 0);
    const h1 = await page.locator('h1').innerText();
    assert.ok(h1.includes(HOSTILE), `the hostile name shows as text: ${h1}`);
    assert.equal(await page.locator('section').count(), 2);

    // Three plots per study (CE, accuracy, movement), each a top-level <svg> in a <figure>.
    const boxes = await page.$$eval('figure > svg', (svgs) => svgs.map((s) => {
      const r = s.getBoundingClientRect();
      return { width: r.width, height: r.height, marks: s.querySelectorAll('path, line, circle').length };
    }));
    assert.equal(boxes.length, 6, 'plots rendered');
    for (const b of boxes) {
      assert.ok(b.width > 200 && b.height > 150, `plot box ${b.width}×${b.height}`);
      assert.ok(b.marks > 10, 'plot has marks');
    }
    // Text inside the plots is laid out (nonzero boxes): titles, legends, axis labels.
    const textBoxes = await page.$$eval('figure > svg text', (ts) => ts.filter((t) => (t.textContent ?? '').trim() !== '').map((t) => t.getBoundingClientRect().width));
    assert.ok(textBoxes.length > 50 && textBoxes.every((w) => w > 0), 'every non-empty SVG text has a width');

    // The answers are on the page: seed:lambda transfers in the first study, per-weight:c in the second.
    const answers = await page.locator('.answer').allInnerTexts();
    assert.match(answers[0], /hold seed:lambda/);
    assert.match(answers[1], /hold per-weight:c/);

    const artifacts = join(REPO_ROOT, 'test-artifacts');
    await mkdir(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'report.png'), fullPage: true });
    assert.ok(existsSync(join(artifacts, 'report.png')));
  } finally {
    await browser.close();
    await rm(dir, { recursive: true, force: true });
  }
});
