/**
 * The one writer for files a user names, and what it does with each kind of path: a regular
 * file atomically, a symlink followed (the link kept), a device written in place (it stays a
 * device), a directory refused; and one `ridgeline:` line per OS error class (read-only file
 * system, disk full, existing directory, missing directory), through the library and the CLI.
 * Needs root to mount small tmpfs file systems and to make a device node (CI runs as root).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../../src/errors.js';
import { atomicWriteFile, checkWritableDir, outputKind, writeOutput } from '../../src/node/files.js';
import { assertUserError, makeTempDir, removeDir, runCli } from '../helpers/cli.js';

let tmp: string;
const mounts: string[] = [];
before(async () => { tmp = await makeTempDir('ridgeline-output-'); });
after(async () => {
  for (const m of mounts.reverse()) execFileSync('umount', [m]);
  await removeDir(tmp);
});

/** A fresh tmpfs at `dir` with the given mount options. */
function tmpfs(name: string, options: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

const rejectsWith = (p: Promise<unknown>, message: RegExp) =>
  assert.rejects(p, (e: unknown) => e instanceof DataError && message.test(e.message));

test('a regular file is written atomically; a symlink is followed and stays a link', async () => {
  const file = join(tmp, 'out.csv');
  await writeOutput(file, 'a,b\n');
  assert.equal(readFileSync(file, 'utf8'), 'a,b\n');
  const target = join(tmp, 'target.csv'), link = join(tmp, 'link.csv');
  writeFileSync(target, 'old\n');
  symlinkSync(target, link);
  await writeOutput(link, 'new\n');
  assert.ok(lstatSync(link).isSymbolicLink(), 'the link is still a link');
  assert.equal(readFileSync(target, 'utf8'), 'new\n');
});

test('a device file is written in place and stays a device (never renamed over)', async () => {
  const dev = join(tmp, 'null');
  execFileSync('mknod', [dev, 'c', '1', '3']);
  assert.equal(outputKind(dev), 'in-place');
  await writeOutput(dev, 'discarded\n');
  assert.ok(lstatSync(dev).isCharacterDevice(), 'still a character device');
  assert.equal(outputKind('-'), 'stdout');
});

test('an existing directory, a missing directory, a read-only and a full file system: one message each', async () => {
  const dir = join(tmp, 'adir');
  mkdirSync(dir);
  await rejectsWith(writeOutput(dir, 'x'), /^cannot write .*adir: it is a directory$/);
  await rejectsWith(writeOutput(join(tmp, 'no', 'such', 'x.csv'), 'x'), /cannot write .*x\.csv: its directory does not exist/);
  const ro = tmpfs('ro', 'ro,size=64k');
  await rejectsWith(writeOutput(join(ro, 'x.csv'), 'x'), /cannot write .*x\.csv: read-only file system/);
  await rejectsWith(checkWritableDir(join(ro, 'run')), /cannot write .*run: read-only file system/);
  const full = tmpfs('full', 'size=32k');
  await rejectsWith(atomicWriteFile(join(full, 'big.bin'), new Uint8Array(256 * 1024)), /cannot write .*big\.bin: no space left on the device/);
  assert.deepEqual(readdirSync(full), [], 'the temp file of the failed write is gone');
});

test('a temp file left by a killed write is removed by the next write to that path', async () => {
  const file = join(tmp, 'model.safetensors');
  const stale = join(tmp, '.model.safetensors.999999999.0123456789ab.tmp');
  writeFileSync(stale, 'half a model');
  await atomicWriteFile(file, 'whole');
  assert.ok(!existsSync(stale));
  assert.equal(readFileSync(file, 'utf8'), 'whole');
});

test('through the CLI: predict --output a directory or a read-only path, train --out read-only before any epoch', async () => {
  const sample = join(tmp, 'in.csv');
  writeFileSync(sample, `${[0, ...new Array(784).fill(0)].join(',')}\n`);
  const run = join(tmp, 'run');
  const trained = await runCli(['train', '--epochs', '1', '--hidden', '8', '--out', run, '--quiet']);
  assert.equal(trained.code, 0, trained.stderr);
  const model = join(run, 'model.safetensors');
  const dir = join(tmp, 'outdir');
  mkdirSync(dir);
  assertUserError(await runCli(['predict', '--model', model, '--input', sample, '--output', dir]), { code: 2, message: ['cannot write', 'it is a directory'] });
  const ro = tmpfs('ro-cli', 'ro,size=64k');
  assertUserError(await runCli(['predict', '--model', model, '--input', sample, '--output', join(ro, 'p.csv')]), { code: 2, message: ['read-only file system'] });
  const t = await runCli(['train', '--epochs', '1', '--hidden', '8', '--out', join(ro, 'run')]);
  assertUserError(t, { code: 2, message: ['read-only file system'] });
  assert.doesNotMatch(t.stderr, /epoch 1\/1/, 'refused before training');
  const dev = join(tmp, 'dev-null');
  execFileSync('mknod', [dev, 'c', '1', '3']);
  const p = await runCli(['predict', '--model', model, '--input', sample, '--output', dev]);
  assert.equal(p.code, 0, p.stderr);
  assert.ok(lstatSync(dev).isCharacterDevice());
  const s = await runCli(['predict', '--model', model, '--input', sample, '--output', '-']);
  assert.match(s.stdout, /^row,label,class,p0/);
});
