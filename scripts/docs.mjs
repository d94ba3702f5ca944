#!/usr/bin/env node
// `npm run docs`: regenerates the README's conventions table from the registry
// (src/regularization/table.ts). The docs test fails when the README and the registry differ.
import { readFileSync, writeFileSync } from 'node:fs';
const { withConventionsTable } = await import('../src/regularization/table.ts');
const path = new URL('../README.md', import.meta.url);
const text = readFileSync(path, 'utf8');
const next = withConventionsTable(text);
if (next === null) { console.error('README.md has no conventions-table markers'); process.exit(2); }
if (next !== text) { writeFileSync(path, next); console.log('README.md: conventions table regenerated'); }
else console.log('README.md: conventions table up to date');
