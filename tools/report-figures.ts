/**
 * Screenshots of a study report's plots, for the README: opens `<study-dir>/report.html` in
 * Debian's headless Chromium (never a downloaded browser) and writes each study section's
 * figures as PNGs.
 *
 *   node --import tsx tools/report-figures.ts <study-dir> <out-dir> [prefix]
 *
 * Files are `<prefix><n>.png`, n = 1 (validation CE against λ), 2 (accuracy), 3 (optimum
 * against scale), in the report's order; with several studies in one report, `<prefix><s>-<n>.png`
 * for study s. Run `ridgeline study report <dir>` first.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/lib/chromium/chromium';

async function main(): Promise<void> {
  const [dir, out, prefix = ''] = process.argv.slice(2);
  if (!dir || !out) {
    console.error('usage: node --import tsx tools/report-figures.ts <study-dir> <out-dir> [prefix]');
    process.exit(2);
  }
  const html = join(dir, 'report.html');
  if (!existsSync(html)) throw new Error(`${html} does not exist: run \`ridgeline study report ${dir}\` first`);
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium`);
  await mkdir(out, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1.5 });
    await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
    const sections = await page.locator('section').all();
    for (const [s, section] of sections.entries()) {
      const figures = await section.locator('figure').all();
      for (const [i, figure] of figures.entries()) {
        const path = join(out, `${prefix}${sections.length > 1 ? `${s + 1}-` : ''}${i + 1}.png`);
        await figure.screenshot({ path });
        console.log(path);
      }
    }
  } finally {
    await browser.close();
  }
}

main().catch((e: unknown) => {
  console.error(`report-figures: ${(e as Error).message}`);
  process.exit(1);
});
