/**
 * The study store: one JSONL line per finished trial, appended and fsynced, so `kill -9` at
 * any moment loses at most the trials in flight. A torn last line (a write cut short) is
 * detected on open, reported, and cut off before anything new is appended, so it can never
 * glue itself to the next line.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import { DataError } from '../errors.js';
import { processAlive, writeError } from './files.js';
import type { TrialResult } from '../study/run-trial.js';

export interface StoreContents {
  results: TrialResult[];
  /** Set when a torn last line was dropped: what it was, for the notice. */
  tornLine: string | null;
}

/** Reads a store; a missing file is an empty store. Only the last line may be torn. */
export function readStore(path: string): StoreContents {
  if (!existsSync(path)) return { results: [], tornLine: null };
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  const tail = lines.pop() ?? ''; // text after the last newline: '' unless the last write was cut
  const results: TrialResult[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      results.push(JSON.parse(line) as TrialResult);
    } catch {
      throw new DataError(`${path}: line ${i + 1} is not JSON, and it is not the last line, so this is not a torn write; fix or remove it`);
    }
  });
  return { results, tornLine: tail.trim() === '' ? null : tail };
}

/** Cuts a torn last line off the file (everything after the last newline). */
export function dropTornLine(path: string): void {
  const text = readFileSync(path, 'utf8');
  truncateSync(path, Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)));
}

/** Appends one result as one line and fsyncs before returning. */
export function appendResult(path: string, result: TrialResult): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'a');
    writeSync(fd, JSON.stringify(result) + '\n');
    fsyncSync(fd);
  } catch (e) {
    throw writeError(e, path);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Union of several stores' results, one per trial id (the first seen wins). */
export function mergeResults(stores: readonly TrialResult[][]): TrialResult[] {
  const seen = new Map<string, TrialResult>();
  for (const results of stores) for (const r of results) if (!seen.has(r.id)) seen.set(r.id, r);
  return [...seen.values()];
}

/**
 * One writer per store: `<store>.lock` holds the writer's pid, made with O_EXCL. A lock whose
 * process is gone (killed) is taken over; a live one is refused, naming the pid. Shards have
 * their own stores, so shards of one study never contend.
 */
export function lockStore(path: string): { release: () => void } {
  const lockPath = `${path}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return {
        release: () => {
          try {
            if (readFileSync(lockPath, 'utf8') === String(process.pid)) unlinkSync(lockPath);
          } catch { /* already gone */ }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError(e, lockPath);
      const pid = Number(readFileSync(lockPath, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new DataError(`${path} is being written by another study (pid ${pid}); wait for it to finish, or remove ${lockPath} if that process is not a ridgeline study`);
      }
      try { unlinkSync(lockPath); } catch { /* raced with its owner's release */ }
    }
  }
  throw new DataError(`cannot lock ${path}: ${lockPath} keeps reappearing`);
}
