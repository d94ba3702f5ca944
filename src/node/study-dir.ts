/**
 * A study directory on disk, read one way by `study`, `study merge` and `study report`:
 *
 *   study.json                        the study (edition, data, classes, configs), written once
 *   results.jsonl                     results of unsharded runs, and the merge of all shards
 *   results.shard-<i>-of-<n>.jsonl    results of `--shard i/n`, so shards never share a file
 */
import { readdirSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import type { StudyFile } from '../study/config.js';
import { normalizeRecord } from '../study/records.js';
import type { TrialResult } from '../study/run-trial.js';
import { mergeResults, readStore } from './study-store.js';

export const STUDY_FILE = 'study.json';

export function readStudyFile(dir: string): StudyFile {
  const path = join(dir, STUDY_FILE);
  if (!existsSync(path)) throw new DataError(`${dir} is not a study directory (no ${STUDY_FILE})`);
  try {
    const json = JSON.parse(readFileSync(path, 'utf8')) as Partial<StudyFile>;
    if (typeof json.data !== 'string' || !Array.isArray(json.configs)) throw new Error('expected {"data": …, "configs": […]}');
    return { edition: json.edition === 2 ? 2 : 1, data: json.data, classes: typeof json.classes === 'number' ? json.classes : 10, configs: json.configs };
  } catch (e) {
    throw new DataError(`${path}: ${(e as Error).message}`);
  }
}

/** The result stores in a study directory, results.jsonl first (after a merge it holds everything). */
export function storeFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => /^results(\.shard-\d+-of-\d+)?\.jsonl$/.test(f))
    .sort((a, b) => (a === 'results.jsonl' ? -1 : b === 'results.jsonl' ? 1 : a < b ? -1 : 1));
}

/** Every store's results, one per trial id (the first copy wins), in the current record shape. */
export function readAllResults(dir: string): { results: TrialResult[]; notes: string[] } {
  const notes: string[] = [];
  const stores = storeFiles(dir).map((f) => {
    const s = readStore(join(dir, f));
    if (s.tornLine !== null) notes.push(`${f} ends in a torn line (a run killed mid-write); that line is ignored.`);
    return s.results;
  });
  return { results: mergeResults(stores).map(normalizeRecord), notes };
}
