/** The README stays true to the code: its opening commands and its table of conventions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { CONVENTIONS } from '../src/regularization/conventions.js';
import { withConventionsTable } from '../src/regularization/table.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

test('README opens with the main job and the test command', () => {
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  assert.match(firstBlock, /^npm ci && npx ridgeline train\b/m);
  assert.match(firstBlock, /^npm test\b/m);
});

test('README documents every convention with its formula', () => {
  for (const c of CONVENTIONS) {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`${c.id}:${c.param}\``));
    assert.ok(row, `README has no row for ${c.id}:${c.param}`);
    assert.ok(row.includes(c.formula), `README row for ${c.id} lacks its formula '${c.formula}'`);
  }
});

test('README conventions table is the one generated from the registry (npm run docs)', () => {
  const generated = withConventionsTable(readme);
  assert.ok(generated !== null, 'README has the conventions-table markers');
  assert.equal(readme, generated, 'README conventions table differs from the registry: run npm run docs');
});

test('README and docs/ link nothing outside the repository but public sources', () => {
  const docs = ['regularization.md', 'playground.md', 'study.md', 'recipes.md', 'speed.md', 'design.md', 'verification.md', 'studies/first-edition/README.md'];
  for (const [name, text] of [['README.md', readme], ...docs.map((f) => [`docs/${f}`, readFileSync(new URL(`../docs/${f}`, import.meta.url), 'utf8')])]) {
    assert.doesNotMatch(text, /\.\.\/shared|\]\(\.\.\/\.\.\/\.\./, `${name} links outside the repository`);
    // Every relative link points at a file that exists.
    const dir = new URL(name.includes('/') ? `../${name.slice(0, name.lastIndexOf('/') + 1)}` : '../', import.meta.url);
    for (const m of text.matchAll(/\]\((?!https?:|#|mailto:)([^)#\s]+)/g)) {
      assert.ok(existsSync(new URL(m[1], dir)), `${name}: link to ${m[1]} points at nothing`);
    }
  }
});

test('README results table is the one generated from the committed study stores (npm run docs)', async () => {
  const { withResultsTable } = await import('../src/report/results-table.js');
  const { readPresetResults } = await import('../src/report/preset-results.js');
  const root = new URL('..', import.meta.url).pathname;
  const generated = withResultsTable(readme, await readPresetResults(`${root}docs/studies`, root));
  assert.ok(generated !== null, 'README has the results-table markers');
  assert.equal(readme, generated, 'README results table differs from docs/studies/: run npm run docs');
});
