/**
 * The study store: one JSONL line per finished trial, appended and fsynced, so `kill -9` at
 * any moment loses at most the trials in flight. A torn last line (a write cut short) is
 * detected on open, reported, and cut off before anything new is appended, so it can never
 * glue itself to the next line.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { DataError } from '../errors.js';
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
  const fd = openSync(path, 'a');
  try {
    writeSync(fd, JSON.stringify(result) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Union of several stores' results, one per trial id (the first seen wins). */
export function mergeResults(stores: readonly TrialResult[][]): TrialResult[] {
  const seen = new Map<string, TrialResult>();
  for (const results of stores) for (const r of results) if (!seen.has(r.id)) seen.set(r.id, r);
  return [...seen.values()];
}
