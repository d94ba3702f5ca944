#!/usr/bin/env node
// `npm run docs`: regenerates the README's generated parts: the conventions table from the
// registry (src/regularization/table.ts) and the study results table from the committed stores
// under docs/studies/ (src/report/results-table.ts). The docs test fails when either drifts.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const { withConventionsTable } = await import('../src/regularization/table.ts');
const { withResultsTable } = await import('../src/report/results-table.ts');
const { readPresetResults } = await import('../src/report/preset-results.ts');
const root = fileURLToPath(new URL('..', import.meta.url));
const path = new URL('../README.md', import.meta.url);
const text = readFileSync(path, 'utf8');
const withConventions = withConventionsTable(text);
if (withConventions === null) { console.error('README.md has no conventions-table markers'); process.exit(2); }
const next = withResultsTable(withConventions, await readPresetResults(`${root}docs/studies`, root));
if (next === null) { console.error('README.md has no results-table markers'); process.exit(2); }
if (next !== text) { writeFileSync(path, next); console.log('README.md: generated tables rewritten'); }
else console.log('README.md: generated tables up to date');
