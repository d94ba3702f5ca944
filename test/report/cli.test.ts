/**
 * `ridgeline study report <dir> [--open]` as a user runs it: it prints the four paths and the
 * answer; --open never makes it fail (no xdg-open, or one that fails); a directory that is not
 * a study is a one-line user error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertSuccess, assertUserError, describeResult, makeTempDir, removeDir, runCli } from '../helpers/cli.js';
import { syntheticResults, widthConfig, writeStudyDir } from './fixtures.js';

const TIMEOUT = 120_000;

async function studyDir(): Promise<string> {
  const dir = await makeTempDir('ridgeline-report-cli-');
  const config = widthConfig('width', [16, 32, 64]);
  await writeStudyDir(join(dir, 'study'), [config], syntheticResults(config, () => 1e-3));
  return dir;
}

test('study report prints the paths and the answer; --open with a failing xdg-open still succeeds', { timeout: TIMEOUT }, async () => {
  const dir = await studyDir();
  try {
    const bin = join(dir, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'xdg-open'), '#!/bin/sh\nexit 3\n');
    await chmod(join(bin, 'xdg-open'), 0o755);
    const study = join(dir, 'study');
    const r = await runCli(['study', 'report', study, '--open'], { env: { PATH: bin }, timeoutMs: TIMEOUT });
    assertSuccess(r);
    for (const f of ['report.html', 'report.md', 'optima.csv', 'trials.csv']) {
      assert.ok(r.stdout.includes(join(study, f)), `prints ${f}\n${describeResult(r)}`);
    }
    assert.match(r.stdout, /width \(width\):\nAlong width, hold `seed:lambda`/);
    assert.match(r.stdout, /xdg-open failed \(exit 3\); open .*report\.html in a browser/);
  } finally {
    await removeDir(dir);
  }
});

test('study report --open without xdg-open prints the path; a non-study directory is a user error', { timeout: TIMEOUT }, async () => {
  const dir = await studyDir();
  try {
    const [opened, notStudy] = await Promise.all([
      runCli(['study', 'report', join(dir, 'study'), '--open'], { env: { PATH: join(dir, 'nowhere') }, timeoutMs: TIMEOUT }),
      runCli(['study', 'report', dir], { timeoutMs: TIMEOUT }),
    ]);
    assertSuccess(opened);
    assert.match(opened.stdout, /no xdg-open here; open .*report\.html in a browser/);
    assertUserError(notStudy, { message: ['not a study directory (no study.json)'] });
  } finally {
    await removeDir(dir);
  }
});
