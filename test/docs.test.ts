/** The README stays true to the code: its opening commands and its table of conventions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CONVENTIONS } from '../src/regularization/conventions.js';

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
