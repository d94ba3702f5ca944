/**
 * End to end on a real (one-node) Slurm cluster: an array job runs one `ridgeline study
 * --shard i/n` per task into a shared study directory, a re-submitted task skips its finished
 * trials, and `study merge` then holds every trial exactly once; examples/slurm/*.sbatch are
 * checked against the same cluster. Needs root and the Slurm and munge packages (CI installs
 * them); without them it skips, naming them (under RIDGELINE_REQUIRE_ALL=1, as in CI, it fails).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseStudyConfig } from '../../src/study/config.js';
import { expandTrials, shardTrials } from '../../src/study/trials.js';
import { assertSuccess, CLI_ENTRY, describeResult, makeTempDir, REPO_ROOT, removeDir, runCli } from '../helpers/cli.js';
import { findSlurm, LocalSlurm, readOutputs, run, shellQuote } from '../helpers/slurm.js';
import { requires } from '../helpers/requires.js';

const SHARDS = 3;
const DATA_LABEL = 'embedded Fashion-MNIST sample';
const STUDY = {
  name: 'slurm-e2e',
  axis: 'width',
  values: [8, 16],
  lambda: { min: 1e-4, max: 1e-2, points: 3 },
  seeds: [1],
  base: { hidden: [8], optimizer: 'sgd', lr: 0.1, momentum: 0, batch: 64, trainSize: 300, validation: 200 },
  budget: { epochs: 1 },
  refine: { octaves: [], extend: 0 },
};

/**
 * The batch script: everything absolute (node, tsx's loader, the CLI, the study), because the
 * task starts in another directory with a bare environment (see LocalSlurm.sbatch). The shard
 * count is the array's size unless SHARDS says otherwise, as when one task is re-submitted alone.
 */
function jobScript(dirs: { work: string; logs: string; study: string }, configPath: string): string {
  const tsx = import.meta.resolve('tsx');
  const cli = [process.execPath, '--import', tsx, CLI_ENTRY].map(shellQuote).join(' ');
  return `#!/bin/bash
#SBATCH --job-name=ridgeline-e2e
#SBATCH --array=0-${SHARDS - 1}
#SBATCH --cpus-per-task=1
#SBATCH --time=00:05:00
#SBATCH --chdir=${dirs.work}
#SBATCH --output=${dirs.logs}/task-%A_%a.out
set -euo pipefail
export NO_COLOR=1
i=$((SLURM_ARRAY_TASK_ID + 1))
n=\${SHARDS:-$SLURM_ARRAY_TASK_COUNT}
echo "slurm task $SLURM_ARRAY_TASK_ID in $PWD: shard $i/$n"
exec ${cli} study --config ${shellQuote(configPath)} --out ${shellQuote(dirs.study)} --shard "$i/$n" --backend js
`;
}

function idsIn(path: string): string[] {
  assert.ok(existsSync(path), `${path} is missing`);
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { id: string }).id);
}

test('a Slurm array job runs the shards; a re-submitted task skips its trials; merge holds each trial once', { timeout: 120_000, ...requires('slurm-wlm', 'munge') }, async () => {
  const deadline = Date.now() + 100_000; // every wait below stops here, before the test's own timeout
  const slurm = findSlurm();
  if ('error' in slurm) assert.fail(slurm.error);

  const root = await makeTempDir('ridgeline-slurm-');
  const cluster = new LocalSlurm(root, slurm.binaries);
  try {
    await cluster.start(deadline);

    // The examples' #SBATCH lines parse and could be scheduled here (with this small node's
    // memory and CPUs; --test-only submits nothing), and the scripts are valid bash.
    for (const name of ['study-array.sbatch', 'merge.sbatch']) {
      const example = join(REPO_ROOT, 'examples', 'slurm', name);
      const syntax = await run('bash', ['-n', example]);
      assert.equal(syntax.code, 0, `bash -n ${example}: ${syntax.stderr}`);
      const r = await run(slurm.binaries.sbatch, ['--test-only', '--mem=0', '--cpus-per-task=1', example], { env: cluster.env });
      assert.ok(r.code === 0 && /to start at/.test(r.stderr), `sbatch --test-only ${example}: exit ${r.code}\n${r.stderr}${r.stdout}`);
    }

    const dirs = { work: join(root, 'work'), logs: join(root, 'logs'), study: join(root, 'study') };
    for (const d of Object.values(dirs)) await mkdir(d, { recursive: true });
    const configPath = join(root, 'study-config.json');
    await writeFile(configPath, JSON.stringify(STUDY, null, 2));
    const script = join(root, 'study-array.sbatch');
    await writeFile(script, jobScript(dirs, configPath), { mode: 0o755 });

    const all = expandTrials(parseStudyConfig(STUDY, 'slurm test'), { label: DATA_LABEL, classes: 10 });
    assert.equal(all.length, 6);
    const shard = (i: number) => shardTrials(all, `${i}/${SHARDS}`).map((t) => t.id).sort();
    const shardFile = (i: number) => join(dirs.study, `results.shard-${i}-of-${SHARDS}.jsonl`);

    const tasksOk = async (job: string, count: number) => {
      await cluster.waitForJob(job, deadline);
      const tasks = await cluster.jobTasks(job);
      const info = `${JSON.stringify(tasks)}\n${await readOutputs(dirs.logs)}\n${cluster.logs()}`;
      assert.equal(tasks.length, count, `job ${job}: expected ${count} array tasks\n${info}`);
      for (const t of tasks) assert.deepEqual([t.state, t.exitCode], ['COMPLETED', '0:0'], `job ${job} task ${t.task}\n${info}`);
    };

    // The array job: one shard per task.
    const job = await cluster.sbatch([script]);
    await tasksOk(job, SHARDS);
    for (let i = 1; i <= SHARDS; i++) {
      const ids = idsIn(shardFile(i));
      assert.deepEqual([...ids].sort(), shard(i), `${shardFile(i)} holds exactly shard ${i}/${SHARDS}'s trials, once each`);
      const out = readFileSync(join(dirs.logs, `task-${job}_${i - 1}.out`), 'utf8');
      assert.ok(out.includes(`slurm task ${i - 1} in ${dirs.work}: shard ${i}/${SHARDS}`), out);
      assert.match(out, new RegExp(`shard ${i}/${SHARDS} has ${shard(i).length}, 0 done`), out);
    }

    // Task 1 (shard 2) again, alone: it must find its trials done and add nothing.
    const before = readFileSync(shardFile(2), 'utf8');
    const again = await cluster.sbatch(['--array=1', script], { SHARDS: String(SHARDS) });
    await tasksOk(again, 1);
    const rerun = readFileSync(join(dirs.logs, `task-${again}_1.out`), 'utf8');
    assert.match(rerun, new RegExp(`shard 2/${SHARDS} has ${shard(2).length}, ${shard(2).length} done, 0 to run`), rerun);
    assert.equal(readFileSync(shardFile(2), 'utf8'), before, 'the re-submitted task rewrote its store');

    // Merge: every expected trial exactly once.
    const merge = await runCli(['study', 'merge', dirs.study]);
    assertSuccess(merge);
    assert.match(merge.stderr, new RegExp(`merged ${SHARDS} stores: ${all.length} trials \\(0 of the ${all.length} known so far still missing\\)`), describeResult(merge));
    const merged = idsIn(join(dirs.study, 'results.jsonl'));
    assert.deepEqual([...merged].sort(), all.map((t) => t.id).sort(), 'results.jsonl holds every trial exactly once');
    const pinned = JSON.parse(readFileSync(join(dirs.study, 'study.json'), 'utf8')) as { data: string };
    assert.equal(pinned.data, DATA_LABEL);
  } finally {
    await cluster.stop();
    await removeDir(root);
  }
});
