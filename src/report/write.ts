/**
 * The only part of the report that touches the file system: read a study directory
 * (study.json and every results*.jsonl, unioned by trial id as `study merge` does), analyze,
 * and write report.html, report.md, optima.csv and trials.csv, each atomically; and open the
 * HTML in a browser on request.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { DataError } from '../errors.js';
import { atomicWriteFile } from '../node/files.js';
import { mergeResults, readStore } from '../node/study-store.js';
import { analyze } from '../study/analysis.js';
import type { StudyConfig } from '../study/config.js';
import { answerFor, answerText } from './answer.js';
import { optimaCsv, trialsCsv } from './csv.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import type { ReportData, StudyFile } from './tables.js';

export interface ReportPaths {
  html: string;
  markdown: string;
  optimaCsv: string;
  trialsCsv: string;
}

export interface WrittenReport {
  paths: ReportPaths;
  /** The plain-language answer per study, names in backticks. */
  answers: { study: string; axis: string; text: string }[];
  /** Notices about the inputs (torn lines ignored). */
  notes: string[];
}

/** study.json and the union of every results*.jsonl in `dir`. */
export async function readStudyDir(dir: string): Promise<ReportData> {
  const studyPath = join(dir, 'study.json');
  if (!existsSync(studyPath)) throw new DataError(`${dir} is not a study directory (no study.json)`);
  let study: StudyFile;
  try {
    const json = JSON.parse(await readFile(studyPath, 'utf8')) as { data?: unknown; configs?: unknown };
    if (typeof json.data !== 'string' || !Array.isArray(json.configs)) throw new Error('expected {"data": …, "configs": […]}');
    study = { data: json.data, configs: json.configs as StudyConfig[] };
  } catch (e) {
    throw new DataError(`${studyPath}: ${(e as Error).message}`);
  }
  const files = (await readdir(dir)).filter((f) => /^results.*\.jsonl$/.test(f)).sort();
  const notes: string[] = [];
  // results.jsonl first: after a merge it holds everything, and the first copy of an id wins.
  files.sort((a, b) => (a === 'results.jsonl' ? -1 : b === 'results.jsonl' ? 1 : a < b ? -1 : 1));
  const stores = files.map((f) => {
    const s = readStore(join(dir, f));
    if (s.tornLine !== null) notes.push(`${f} ends in a torn line (a run killed mid-write); that line is ignored.`);
    return s.results;
  });
  return { study, results: mergeResults(stores), analyses: [], notes };
}

/** Reads `dir`, analyzes it, writes the four report files into it; returns their paths. */
export async function writeReport(dir: string, options: { now?: Date } = {}): Promise<WrittenReport> {
  const input = await readStudyDir(dir);
  if (input.results.length === 0) throw new DataError(`${dir} has no results yet (no trials in results*.jsonl); run the study first`);
  const analyses = analyze(input.results);
  const data: ReportData = { ...input, analyses, generatedAt: (options.now ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z') };
  const paths: ReportPaths = {
    html: join(dir, 'report.html'),
    markdown: join(dir, 'report.md'),
    optimaCsv: join(dir, 'optima.csv'),
    trialsCsv: join(dir, 'trials.csv'),
  };
  await atomicWriteFile(paths.html, renderHtml(data));
  await atomicWriteFile(paths.markdown, renderMarkdown(data));
  await atomicWriteFile(paths.optimaCsv, optimaCsv(analyses));
  await atomicWriteFile(paths.trialsCsv, trialsCsv(input.results));
  return {
    paths,
    answers: analyses.map((a) => ({ study: a.study, axis: a.axis, text: answerText(answerFor(a)) })),
    notes: input.notes ? [...input.notes] : [],
  };
}

/** The first executable `name` on PATH, or null. */
function which(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Opens `file` with xdg-open when there is one, and never throws: it returns what happened,
 * for the user. Waits at most `waitMs` for xdg-open to report failure (some desktops keep it
 * running as long as the browser), then leaves it running on its own.
 */
export async function openInBrowser(file: string, waitMs = 2000): Promise<string> {
  const path = resolve(file);
  const opener = which('xdg-open');
  if (!opener) return `no xdg-open here; open ${path} in a browser`;
  return new Promise((done) => {
    let settled = false;
    const finish = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.unref();
      done(message);
    };
    const child = spawn(opener, [path], { detached: true, stdio: 'ignore' });
    child.on('error', (e) => finish(`could not run xdg-open (${e.message}); open ${path} in a browser`));
    child.on('exit', (code) => finish(code === 0 ? `opened ${path}` : `xdg-open failed (exit ${code}); open ${path} in a browser`));
    const timer = setTimeout(() => finish(`opening ${path} with xdg-open`), waitMs);
  });
}
