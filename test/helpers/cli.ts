/**
 * Helpers for CLI tests: run `ridgeline` as a child process exactly as a user would (through
 * tsx, from the repository root) and build small synthetic datasets on disk.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { encodeIdx } from '../../src/data/idx.js';
import { FASHION_MNIST_FILES } from '../../src/data/bytes.js';

/** The repository root (test/helpers/ → ../..). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI_ENTRY = join(REPO_ROOT, 'src', 'cli', 'main.ts');

export interface CliResult {
  /** Exit code, or null when the process was killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  /** Kill the child (SIGKILL) and fail after this long; default 60 s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** tsx's loader by absolute URL, so the CLI also starts from another working directory. */
const TSX = import.meta.resolve('tsx');

/** The arguments to spawn `ridgeline <args>` with `process.execPath`. */
export function cliArgv(args: readonly string[]): string[] {
  return ['--import', TSX, CLI_ENTRY, ...args];
}

/** NO_COLOR keeps messages free of escape codes; stdio is piped, so no TTY and no progress bar. */
function cliEnv(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...extra };
}

/** Starts the CLI without waiting; for tests that need the child itself (e.g. to kill it). */
export function spawnCli(args: readonly string[], opts: Omit<RunOptions, 'timeoutMs'> = {}): ChildProcess {
  return spawn(process.execPath, cliArgv(args), {
    cwd: opts.cwd ?? REPO_ROOT, env: cliEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * How many CLI children one test file runs at once (each costs ~1 s of CPU just to start
 * through tsx). Suites may run their tests concurrently; this keeps them from oversubscribing
 * the machine. RIDGELINE_CLI_JOBS overrides it.
 */
const MAX_JOBS = Number(process.env.RIDGELINE_CLI_JOBS) || Math.max(2, availableParallelism());
let running = 0;
const waiting: (() => void)[] = [];

async function withJobSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_JOBS) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Runs `ridgeline <args>` to completion; resolves (never rejects) on any exit code. */
export function runCli(args: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
  return withJobSlot(() => runCliNow(args, opts));
}

function runCliNow(args: readonly string[], opts: RunOptions): Promise<CliResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, opts);
    let stdout = '', stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new Error(`ridgeline ${args.join(' ')} timed out after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
      } else {
        resolve({ code, signal, stdout, stderr });
      }
    });
  });
}

const STACK_LINE = /^\s+at /m;

/** Shows the whole result when an assertion about it fails. */
export function describeResult(r: CliResult): string {
  return `exit ${r.code}${r.signal ? ` (signal ${r.signal})` : ''}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/**
 * A user error: the given exit code (any non-zero one when omitted), every fragment in the
 * message on stderr, and no stack trace anywhere.
 */
export function assertUserError(r: CliResult, expected: { code?: number; message: (string | RegExp)[] }): void {
  const info = describeResult(r);
  if (expected.code === undefined) {
    assert.ok(r.code !== null && r.code !== 0, `expected a non-zero exit code\n${info}`);
  } else {
    assert.equal(r.code, expected.code, `expected exit code ${expected.code}\n${info}`);
  }
  assert.doesNotMatch(r.stderr, STACK_LINE, `stack trace on stderr\n${info}`);
  assert.doesNotMatch(r.stdout, STACK_LINE, `stack trace on stdout\n${info}`);
  assert.doesNotMatch(r.stderr, /internal error/, `reported as an internal error\n${info}`);
  for (const fragment of expected.message) {
    if (typeof fragment === 'string') assert.ok(r.stderr.includes(fragment), `stderr lacks ${JSON.stringify(fragment)}\n${info}`);
    else assert.match(r.stderr, fragment, `stderr does not match ${fragment}\n${info}`);
  }
}

export function assertSuccess(r: CliResult): void {
  assert.equal(r.code, 0, `expected success\n${describeResult(r)}`);
}

export async function makeTempDir(prefix = 'ridgeline-cli-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** A small deterministic PRNG (mulberry32) so synthetic data is the same on every run. */
export function seededBytes(seed: number): (n: number, max?: number) => Uint8Array {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (n, max = 256) => Uint8Array.from({ length: n }, () => Math.floor(next() * max));
}

/** Ways to break one file of a synthetic IDX directory. */
export type IdxCorruption =
  /** train-images starts with bytes that are not an IDX magic number. */
  | 'bad-magic'
  /** train-images is cut short in its data section. */
  | 'truncated'
  /** train-labels has one label fewer than train-images has images. */
  | 'count-mismatch'
  /** one training label is 12 (Fashion-MNIST has classes 0–9). */
  | 'label-out-of-range';

export interface IdxDirOptions {
  trainCount: number;
  testCount: number;
  rows?: number;
  cols?: number;
  seed?: number;
  /** gzip every file (and name it *.gz), as the official mirror does; default false. */
  gzip?: boolean;
  corrupt?: IdxCorruption;
}

/**
 * Writes the four Fashion-MNIST IDX files into `dir` (created if missing): random pixels
 * (rows×cols, default 28×28) and labels 0–9, optionally with one corruption. Returns the paths.
 */
export async function makeIdxDir(dir: string, options: IdxDirOptions): Promise<Record<keyof typeof FASHION_MNIST_FILES, string>> {
  const { trainCount, testCount, rows = 28, cols = 28, seed = 1, gzip = false, corrupt } = options;
  const random = seededBytes(seed);
  const files: Record<keyof typeof FASHION_MNIST_FILES, Uint8Array> = {
    trainImages: encodeIdx([trainCount, rows, cols], random(trainCount * rows * cols)),
    trainLabels: encodeIdx([trainCount], random(trainCount, 10)),
    testImages: encodeIdx([testCount, rows, cols], random(testCount * rows * cols)),
    testLabels: encodeIdx([testCount], random(testCount, 10)),
  };
  switch (corrupt) {
    case undefined:
      break;
    case 'bad-magic':
      // Looks like a text file someone saved under the IDX name.
      files.trainImages = new TextEncoder().encode('<!DOCTYPE html><title>404 Not Found</title>\n');
      break;
    case 'truncated':
      files.trainImages = files.trainImages.subarray(0, files.trainImages.length - 100);
      break;
    case 'count-mismatch':
      files.trainLabels = encodeIdx([trainCount - 1], random(trainCount - 1, 10));
      break;
    case 'label-out-of-range': {
      const labels = random(trainCount, 10);
      labels[Math.min(3, trainCount - 1)] = 12;
      files.trainLabels = encodeIdx([trainCount], labels);
      break;
    }
  }
  await mkdir(dir, { recursive: true });
  const paths = {} as Record<keyof typeof FASHION_MNIST_FILES, string>;
  for (const key of Object.keys(files) as (keyof typeof FASHION_MNIST_FILES)[]) {
    const path = join(dir, FASHION_MNIST_FILES[key] + (gzip ? '.gz' : ''));
    await writeFile(path, gzip ? gzipSync(files[key]) : files[key]);
    paths[key] = path;
  }
  return paths;
}

/** CSV text: one row per example, the label first then the pixel values. */
export function csvRows(rows: readonly (readonly number[])[]): string {
  return rows.map((r) => r.join(',')).join('\n') + '\n';
}

/** `count` labelled rows of `features` random pixels (label first), deterministic per seed. */
export function randomCsv(count: number, features = 784, seed = 7): string {
  const random = seededBytes(seed);
  const rows: number[][] = [];
  for (let i = 0; i < count; i++) rows.push([random(1, 10)[0], ...random(features)]);
  return csvRows(rows);
}
