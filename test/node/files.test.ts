import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError } from '../../src/errors.js';
import { atomicWriteFile, atomicWriteFileSync, readFileBytes } from '../../src/node/files.js';

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ridgeline-files-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const writers = [
  ['atomicWriteFile', atomicWriteFile],
  ['atomicWriteFileSync', async (p: string, d: Uint8Array | string) => atomicWriteFileSync(p, d)],
] as const;

for (const [label, write] of writers) {
  test(`${label} creates the file with the content and leaves no temp files`, () =>
    withTempDir(async (dir) => {
      const target = join(dir, 'model.safetensors');
      await write(target, new Uint8Array([1, 2, 3, 250]));
      assert.deepEqual(new Uint8Array(await readFile(target)), new Uint8Array([1, 2, 3, 250]));
      await write(join(dir, 'notes.txt'), 'héllo\n');
      assert.equal(await readFile(join(dir, 'notes.txt'), 'utf8'), 'héllo\n');
      assert.deepEqual((await readdir(dir)).sort(), ['model.safetensors', 'notes.txt']);
    }));

  test(`${label} overwrites an existing file`, () =>
    withTempDir(async (dir) => {
      const target = join(dir, 'run.json');
      await writeFile(target, 'old content that is longer than the new one');
      await write(target, '{}');
      assert.equal(await readFile(target, 'utf8'), '{}');
      assert.deepEqual(await readdir(dir), ['run.json']);
    }));

  test(`${label} into a missing directory throws and leaves nothing`, () =>
    withTempDir(async (dir) => {
      const target = join(dir, 'missing', 'model.safetensors');
      // An OS error becomes one user error naming the path and the cause.
      await assert.rejects(write(target, 'x'), (e: unknown) => e instanceof DataError && e.message === `cannot write ${target}: its directory does not exist`);
      assert.deepEqual(await readdir(dir), []);
    }));

  test(`${label} whose rename fails removes its temp file`, () =>
    withTempDir(async (dir) => {
      // A non-empty directory at the target makes rename(2) fail after the temp file exists.
      const target = join(dir, 'occupied');
      await mkdir(target);
      await writeFile(join(target, 'keep'), 'k');
      await assert.rejects(write(target, 'x'));
      assert.deepEqual(await readdir(dir), ['occupied']);
      assert.ok(existsSync(join(target, 'keep')));
    }));
}

test('readFileBytes returns the bytes as a plain Uint8Array', () =>
  withTempDir(async (dir) => {
    const path = join(dir, 'a.bin');
    await writeFile(path, new Uint8Array([5, 6, 7]));
    const bytes = await readFileBytes(path, 'a.bin');
    assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype);
    assert.deepEqual(bytes, new Uint8Array([5, 6, 7]));
  }));

test('readFileBytes on a missing file or a directory throws DataError', () =>
  withTempDir(async (dir) => {
    await assert.rejects(readFileBytes(join(dir, 'nope.safetensors'), 'run1/model.safetensors'), (e: unknown) => {
      assert.ok(e instanceof DataError);
      assert.equal(e.message, 'no such file: run1/model.safetensors');
      return true;
    });
    await assert.rejects(readFileBytes(dir, 'run1'), (e: unknown) => e instanceof DataError && /is a directory/.test(e.message));
  }));
