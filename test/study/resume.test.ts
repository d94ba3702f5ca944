/**
 * `ridgeline study` killed with SIGKILL mid-run and run again: no trial twice, none lost, and
 * the same results (timings aside) as an uninterrupted study with the same seeds. Also the
 * torn-line notice, shards + merge through the CLI, and a config error naming its field.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertSuccess, assertUserError, makeTempDir, removeDir, runCli, spawnCli } from '../helpers/cli.js';
import { readStore } from '../../src/node/study-store.js';
import { parseStudyConfig } from '../../src/study/config.js';
import { expandTrials } from '../../src/study/trials.js';
import type { TrialResult } from '../../src/study/run-trial.js';

const CONFIG = {
  name: 'tiny-width', axis: 'width', values: [8, 16, 32],
  lambda: { min: 1e-4, max: 1e-2, points: 4 }, seeds: [1, 2],
  base: { hidden: [8], optimizer: 'momentum', lr: 0.05, momentum: 0.9, batch: 64, trainSize: 1200, validation: 300 },
  budget: { epochs: 2 },
  // No refinement passes here, so the number of trials is fixed; the refinement test below has them.
  refine: { octaves: [], extend: 0 },
};
const TOTAL = 3 * 4 * 2;

let tmp: string, configPath: string;
before(async () => {
  tmp = await makeTempDir('ridgeline-study-');
  configPath = join(tmp, 'tiny.json');
  await writeFile(configPath, JSON.stringify(CONFIG));
});
after(async () => { await removeDir(tmp); });

/** Results without what legitimately differs between runs (wall time). */
const comparable = (rs: TrialResult[]) => rs.map(({ seconds: _s, ...r }) => r).sort((a, b) => (a.id < b.id ? -1 : 1));

test('kill -9 mid-study, rerun: every trial once, same results as an uninterrupted run', async () => {
  const killed = join(tmp, 'killed'), clean = join(tmp, 'clean');
  const child = spawnCli(['study', '--config', configPath, '--out', killed, '--quiet', '--backend', 'js']);
  const store = join(killed, 'results.jsonl');
  const deadline = Date.now() + 60_000;
  // Kill as soon as a few trials are in: mid-run by construction.
  while (Date.now() < deadline && !(existsSync(store) && readFileSync(store, 'utf8').split('\n').length > 4)) {
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.on('close', r));
  const partial = readStore(store).results.length;
  assert.ok(partial >= 4 && partial < TOTAL, `killed after ${partial} of ${TOTAL} trials`);

  const [resumed, uninterrupted] = await Promise.all([
    runCli(['study', '--config', configPath, '--out', killed, '--backend', 'js'], { timeoutMs: 120_000 }),
    runCli(['study', '--config', configPath, '--out', clean, '--quiet', '--backend', 'js'], { timeoutMs: 120_000 }),
  ]);
  assertSuccess(resumed);
  assertSuccess(uninterrupted);
  assert.match(resumed.stderr, new RegExp(`${partial} done, ${TOTAL - partial} to run`));
  const a = readStore(store).results, b = readStore(join(clean, 'results.jsonl')).results;
  assert.equal(a.length, TOTAL);
  assert.equal(new Set(a.map((r) => r.id)).size, TOTAL);
  assert.deepEqual(comparable(a), comparable(b));
});

test('a torn last line is reported, dropped and the trial rerun', async () => {
  const dir = join(tmp, 'torn');
  assertSuccess(await runCli(['study', '--config', configPath, '--out', dir, '--quiet', '--backend', 'js'], { timeoutMs: 120_000 }));
  const store = join(dir, 'results.jsonl');
  const lines = readFileSync(store, 'utf8').trimEnd().split('\n');
  // Simulate a write cut short: drop the last line, append half of it without a newline.
  await writeFile(store, lines.slice(0, -1).join('\n') + '\n');
  await appendFile(store, lines[lines.length - 1].slice(0, 50));
  const r = await runCli(['study', '--config', configPath, '--out', dir, '--backend', 'js'], { timeoutMs: 60_000 });
  assertSuccess(r);
  assert.match(r.stderr, /dropped a torn last line/);
  assert.match(r.stderr, new RegExp(`${TOTAL - 1} done, 1 to run`));
  const results = readStore(store);
  assert.equal(results.tornLine, null);
  assert.equal(new Set(results.results.map((x) => x.id)).size, TOTAL);
});

test('shards through the CLI, then merge: each trial exactly once', async () => {
  const dir = join(tmp, 'sharded');
  const runs = await Promise.all([1, 2, 3].map((i) =>
    runCli(['study', '--config', configPath, '--out', dir, '--shard', `${i}/3`, '--quiet', '--backend', 'js'], { timeoutMs: 120_000 })));
  runs.forEach(assertSuccess);
  const merge = await runCli(['study', 'merge', dir]);
  assertSuccess(merge);
  assert.match(merge.stderr, new RegExp(`${TOTAL} trials \\(0 of the ${TOTAL} known so far still missing\\)`));
  const ids = readStore(join(dir, 'results.jsonl')).results.map((r) => r.id).sort();
  const expected = expandTrials(parseStudyConfig(CONFIG, 'tiny'), { label: 'embedded Fashion-MNIST sample', classes: 10 }).map((t) => t.id).sort();
  assert.deepEqual(ids, expected);
});

test('--jobs 2: two shard processes, merged; a rerun after a partial unsharded run repeats nothing', async () => {
  const dir = join(tmp, 'jobs');
  // Half the grid unsharded first (another shard layout), then --jobs must finish only the rest.
  assertSuccess(await runCli(['study', '--config', configPath, '--out', dir, '--shard', '1/2', '--quiet', '--backend', 'js'], { timeoutMs: 120_000 }));
  const before = readStore(join(dir, 'results.shard-1-of-2.jsonl')).results.length;
  const r = await runCli(['study', '--config', configPath, '--out', dir, '--jobs', '2', '--backend', 'js'], { timeoutMs: 180_000 });
  assertSuccess(r);
  assert.match(r.stderr, new RegExp(`${before} done, ${TOTAL - before} to run`));
  assert.match(r.stderr, /2 jobs/);
  assert.match(r.stderr, new RegExp(`${TOTAL} trials \\(0 of the ${TOTAL} known so far still missing\\)`));
  const all = readStore(join(dir, 'results.jsonl')).results;
  assert.equal(all.length, TOTAL);
  assert.equal(new Set(all.map((x) => x.id)).size, TOTAL);
  // Shard 1 ran once: its own store still holds exactly the trials of the first run.
  assert.equal(readStore(join(dir, 'results.shard-1-of-2.jsonl')).results.length, before);
  assertUserError(await runCli(['study', '--config', configPath, '--out', dir, '--jobs', '2', '--shard', '1/2']), { code: 2, message: ['--jobs', '--shard'] });
});

test('a bad config names the field; a different study in the same directory is refused', async () => {
  const bad = join(tmp, 'bad.json');
  await writeFile(bad, JSON.stringify({ ...CONFIG, base: { ...CONFIG.base, lr: -1 } }));
  assertUserError(await runCli(['study', '--config', bad, '--out', join(tmp, 'bad')]), { code: 2, message: ['bad.json', 'base.lr'] });
  const other = join(tmp, 'other.json');
  await writeFile(other, JSON.stringify({ ...CONFIG, seeds: [7] }));
  assertUserError(await runCli(['study', '--config', other, '--out', join(tmp, 'clean')]), { code: 2, message: ['holds another study'] });
});
