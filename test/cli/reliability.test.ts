/**
 * The reliability findings of issue 21, each as a regression test through the real CLI: study
 * children die with their parent, a lock keeps two studies off one store, `--shard ''` is
 * refused, NaN weights and models that declare more than their file holds are refused before
 * anything is allocated, a malformed checkpoint is a clear error, resume keeps the run's
 * backend and does not rewrite a finished run's result.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../../src/format/safetensors.js';
import { assertSuccess, assertUserError, makeTempDir, REPO_ROOT, removeDir, runCli, spawnCli } from '../helpers/cli.js';

let tmp: string, run: string;
before(async () => {
  tmp = await makeTempDir('ridgeline-reliability-');
  run = join(tmp, 'run');
  assertSuccess(await runCli(['train', '--epochs', '1', '--hidden', '8', '--backend', 'js', '--out', run, '--quiet']));
});
after(async () => { await removeDir(tmp); });

const CONFIG = {
  name: 'tiny', axis: 'width', values: [4, 8], lambda: { min: 1e-4, max: 1e-2, points: 3 }, seeds: [1, 2],
  base: { hidden: [4], optimizer: 'sgd', lr: 0.1, momentum: 0, batch: 64, trainSize: 600, validation: 200 },
  budget: { epochs: 30 }, refine: { octaves: [], extend: 0 },
};

function pids(pattern: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

test('study --jobs killed with SIGKILL: its shard processes stop too', async () => {
  const dir = join(tmp, 'orphans');
  const config = join(tmp, 'orphans.json');
  writeFileSync(config, JSON.stringify(CONFIG));
  const parent = spawnCli(['study', '--config', config, '--out', dir, '--jobs', '2', '--backend', 'js']);
  const deadline = Date.now() + 60_000;
  while (pids(`${dir}.*--shard`).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal(pids(`${dir}.*--shard`).length, 2, 'two shard processes started');
  parent.kill('SIGKILL');
  const gone = Date.now() + 10_000;
  while (pids(`${dir}.*--shard`).length > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(pids(`${dir}.*--shard`), [], 'no shard outlives its parent');
});

test('a live lock keeps a second study off the store; a stale one is taken over; --shard "" is refused', async () => {
  const dir = join(tmp, 'locked');
  const config = join(tmp, 'small.json');
  writeFileSync(config, JSON.stringify({ ...CONFIG, values: [4], budget: { epochs: 1 }, seeds: [1] }));
  assertSuccess(await runCli(['study', '--config', config, '--out', dir, '--backend', 'js', '--quiet']));
  writeFileSync(join(dir, 'results.jsonl.lock'), String(process.pid)); // a live process holds it
  assertUserError(await runCli(['study', '--config', config, '--out', dir, '--backend', 'js']), { code: 2, message: ['is being written by another study', `pid ${process.pid}`] });
  writeFileSync(join(dir, 'results.jsonl.lock'), '999999999'); // its writer is gone
  assertSuccess(await runCli(['study', '--config', config, '--out', dir, '--backend', 'js', '--quiet']));
  assert.ok(!existsSync(join(dir, 'results.jsonl.lock')), 'released on exit');
  assertUserError(await runCli(['study', '--config', config, '--out', dir, '--shard', '']), { code: 2, message: ['--shard must be i/n'] });
});

/** The run's model file with one tensor changed (or the metadata), written to `name`. */
function editedModel(name: string, edit: (tensors: NamedTensor[], metadata: Record<string, string>) => void): string {
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(join(run, 'model.safetensors'))), 'model');
  const list = [...tensors].map(([n, t]) => ({ name: n, dtype: t.dtype, shape: [...t.shape], data: (t.data as Float32Array).slice() }) as NamedTensor);
  edit(list, metadata);
  const path = join(tmp, name);
  writeFileSync(path, encodeSafetensors(list, metadata));
  return path;
}

test('a model with a NaN weight, or one declaring a layer its file does not hold, is refused before evaluation', async () => {
  const nan = editedModel('nan.safetensors', (ts) => { (ts[0].data as Float32Array)[3] = NaN; });
  assertUserError(await runCli(['evaluate', '--model', nan]), { code: 2, message: ['holds NaN at index 3', 'must be finite'] });
  const huge = editedModel('huge.safetensors', (_ts, md) => {
    const spec = JSON.parse(md.architecture);
    spec.layers[0].units = 1_000_000;
    md.architecture = JSON.stringify(spec);
  });
  assertUserError(await runCli(['evaluate', '--model', huge]), { code: 2, message: ['dense1.weight has shape [8,784], the architecture needs [1000000,784]'] });
});

test('a checkpoint with malformed metadata is a clear error, not a TypeError', async () => {
  const dir = join(tmp, 'broken');
  execFileSync('cp', ['-r', run, dir]);
  const path = join(dir, 'checkpoint.safetensors');
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(path)), 'ckpt');
  const list = [...tensors].map(([n, t]) => ({ name: n, dtype: t.dtype, shape: [...t.shape], data: t.data }) as NamedTensor);
  for (const [key, value, message] of [
    ['config', '{}', "metadata 'config' is malformed"],
    ['rng', '{"shuffle":[1,2,3],"dropout":[1,2,3,4]}', "metadata 'rng' is malformed"],
    ['history', '[{"epoch":5}]', "metadata 'history' is malformed"],
    ['epoch', '-3', 'are not non-negative integers'],
  ] as const) {
    writeFileSync(path, encodeSafetensors(list, { ...metadata, [key]: value }));
    assertUserError(await runCli(['train', '--resume', dir]), { code: 2, message: [message] });
  }
});

test('resume continues on the backend the run started on, and a finished run is reported, not rewritten', async () => {
  const dir = join(tmp, 'resume-js');
  execFileSync('cp', ['-r', run, dir]);
  const before = readFileSync(join(dir, 'result.json'));
  const done = await runCli(['train', '--resume', dir]);
  assertSuccess(done);
  assert.match(done.stderr, /is complete \(1 of 1 epochs\)/);
  assert.ok(readFileSync(join(dir, 'result.json')).equals(before), 'result.json untouched');
  const more = await runCli(['train', '--resume', dir, '--epochs', '2']);
  assertSuccess(more);
  assert.match(more.stderr, /backend js/);
  const other = await runCli(['train', '--resume', join(tmp, 'resume-js'), '--epochs', '3', '--backend', 'wasm']);
  assertSuccess(other);
  assert.match(other.stderr, /started on the js backend and continues on wasm/);
});

/**
 * A run started with `env` choosing the backend's kernels, resumed without it, ends with the
 * bits of the uninterrupted run: the checkpoint records the kernels and resume switches back.
 */
async function resumeKeepsKernels(name: string, backend: string, env: Record<string, string>): Promise<void> {
  const resumedDir = join(tmp, `${name}-resumed`), straight = join(tmp, `${name}-straight`);
  const base = ['train', '--hidden', '16', '--backend', backend, '--quiet'];
  assertSuccess(await runCli([...base, '--epochs', '1', '--out', resumedDir], { env }));
  assertSuccess(await runCli([...base, '--epochs', '2', '--out', straight], { env }));
  const r = await runCli(['train', '--resume', resumedDir, '--epochs', '2']); // no variable: the checkpoint says which
  assertSuccess(r);
  assert.doesNotMatch(r.stderr, /continues on/);
  const weights = (dir: string) => [...decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))), dir).tensors.values()].map((t) => Array.from(t.data as Float32Array));
  assert.deepEqual(weights(resumedDir), weights(straight), `the same bits as the uninterrupted run with ${JSON.stringify(env)}`);
}

test('resume continues on the native GEMM the run started on (the checkpoint records the kernels too)', async () => {
  await resumeKeepsKernels('gemm', 'native', { RIDGELINE_NATIVE_GEMM: 'portable' });
});

test('resume continues on the wasm module the run started on (SIMD128 here, relaxed SIMD by default)', async () => {
  await resumeKeepsKernels('wasm', 'wasm', { RIDGELINE_WASM_VARIANT: 'simd128' });
});

test('evaluate reads only the split it evaluates: a directory holding just the test files works', async () => {
  const dir = join(tmp, 'test-only');
  execFileSync('mkdir', ['-p', dir]);
  for (const name of ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) {
    writeFileSync(join(dir, name), readFileSync(join(REPO_ROOT, 'data', 'sample', name)));
  }
  const r = await runCli(['evaluate', '--model', join(run, 'model.safetensors'), '--data', dir, '--json']);
  assertSuccess(r);
  assert.equal(JSON.parse(r.stdout.trim().split('\n').at(-1)!).split, 'test');
  // The training split is the one it lacks: named, not a stack trace.
  assertUserError(await runCli(['evaluate', '--model', join(run, 'model.safetensors'), '--data', dir, '--split', 'train']), { code: 2, message: ['train-images-idx3-ubyte'] });
});
