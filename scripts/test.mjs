#!/usr/bin/env node
// `npm test`'s runner: node:test over every test/**/*.test.ts (sorted), two files at a time,
// with the usual report on stdout (TAP when piped, which CI reads) and a last line on stderr
// counting tests skipped for want of a Debian package (test/helpers/skip-summary.mjs).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? find(path) : name.endsWith('.test.ts') ? [relative(root, path)] : [];
  });
}
const files = process.argv.length > 2 ? process.argv.slice(2) : find(join(root, 'test')).sort();
const reporter = process.stdout.isTTY ? 'spec' : 'tap';
const r = spawnSync(process.execPath, [
  '--import', 'tsx', '--test', '--test-concurrency=2',
  `--test-reporter=${reporter}`, '--test-reporter-destination=stdout',
  '--test-reporter=./test/helpers/skip-summary.mjs', '--test-reporter-destination=stderr',
  ...files,
], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
