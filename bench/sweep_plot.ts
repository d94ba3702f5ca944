/**
 * The sweep's figure: model GFLOP/s against the MLP's width, one panel per batch size, ridgeline
 * native and PyTorch's best, with the measured 1- and 2-thread native peaks as dashed lines.
 * SVG through Observable Plot and linkedom (src/report/plots.ts renderFramed, as the study
 * report's figures); a PNG of it through Debian's headless Chromium where it is installed.
 */
import { existsSync } from 'node:fs';
import * as Plot from '@observablehq/plot';
import { CATEGORICAL, renderFramed } from '../src/report/plots.js';
import { atomicWriteFile } from '../src/node/files.js';
import { log } from './child.js';
import { mlpSizes } from './common.js';
import type { SweepReport } from './sweep.js';

const CHROMIUM = '/usr/lib/chromium/chromium';
const PEAK_COLORS = ['#999', '#555'];

export function sweepSvg(r: SweepReport): string {
  const rows = r.points.flatMap((p) => [p.native, p.pytorch].filter((s) => s !== null).map((s) => ({
    width: p.width, batch: `B = ${p.batch}`, gflops: s!.model_gflops, system: s!.name.startsWith('ridgeline') ? 'ridgeline native' : `PyTorch best (${s!.name})`,
  })));
  const systems = [...new Set(rows.map((x) => x.system))];
  const native = r.peak.native;
  const peaks = 'skipped' in native ? [] : native.points.map((q, i) => ({ label: `measured peak, ${q.threads} thread${q.threads === 1 ? '' : 's'}`, gflops: q.gflops, color: PEAK_COLORS[i % 2] }));
  const [inputs, , , classes] = mlpSizes();
  return renderFramed({
    title: `Cost as the work grows: MLP ${inputs}-w-w-${classes} training steps`,
    subtitle: 'model GFLOP/s (samples/s × FLOPs per example) by hidden width w, per batch size',
    legend: [
      ...systems.map((s, i) => ({ label: s, color: CATEGORICAL[i], mark: 'line' as const })),
      ...peaks.map((p) => ({ label: `${p.label} (${p.gflops.toFixed(0)})`, color: p.color, mark: 'dash' as const })),
    ],
  }, (marginTop) => ({
    marginTop, marginLeft: 56, height: 360 + marginTop,
    x: { type: 'log', base: 2, ticks: r.widths, tickFormat: (d: number) => String(d), label: 'hidden width w' },
    // The y label would sit in the header's space (facets put their labels in the top margin): the subtitle says it.
    y: { grid: true, zero: true, label: null },
    fx: { label: null, domain: r.batches.map((b) => `B = ${b}`) },
    color: { domain: systems, range: CATEGORICAL.slice(0, systems.length) },
    marks: [
      ...peaks.map((p) => Plot.ruleY([p.gflops], { stroke: p.color, strokeDasharray: '4 3' })),
      Plot.line(rows, { x: 'width', y: 'gflops', stroke: 'system', z: 'system', fx: 'batch', strokeWidth: 2 }),
      Plot.dot(rows, { x: 'width', y: 'gflops', fill: 'system', fx: 'batch', r: 3 }),
    ],
  }));
}

/** The SVG at `path`, and where Chromium is installed the same figure as PNG beside it (path with .png). */
export async function writeSweepFigure(r: SweepReport, path: string): Promise<string[]> {
  const svg = sweepSvg(r);
  await atomicWriteFile(path, svg);
  const written = [path];
  if (!existsSync(CHROMIUM)) {
    log(`sweep figure: no PNG (Chromium not at ${CHROMIUM}: apt-get install chromium)`);
    return written;
  }
  const png = path.replace(/\.svg$/i, '') + '.png';
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ deviceScaleFactor: 1.5 });
    await page.setContent(`<!DOCTYPE html><html><body style="margin:0;background:white">${svg}</body></html>`);
    await atomicWriteFile(png, await page.locator('svg').first().screenshot());
    written.push(png);
  } finally {
    await browser.close();
  }
  return written;
}
