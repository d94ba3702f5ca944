/**
 * The only part of the report that touches the file system: read a study directory
 * (study.json and every results*.jsonl, unioned by trial id as `study merge` does), analyze,
 * and write report.html, report.md, optima.csv and trials.csv, each atomically; and open the
 * HTML in a browser on request.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { DataError } from '../errors.js';
import { atomicWriteFile } from '../node/files.js';
import { readAllResults, readStudyFile } from '../node/study-dir.js';
import { analyze, MIN_CURVE_POINTS, type AxisAnalysis } from '../study/analysis.js';
import { METRICS } from '../study/metrics.js';
import { answerFor, answerText } from './answer.js';
import { optimaCsv, trialsCsv } from './csv.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import type { ReportData } from './tables.js';

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
  const study = readStudyFile(dir);
  const { results, notes } = readAllResults(dir);
  return { study, results, analyses: [], notes };
}

/** Reads `dir`, analyzes it, writes the four report files into it; returns their paths. */
export async function writeReport(dir: string, options: { now?: Date } = {}): Promise<WrittenReport> {
  const input = await readStudyDir(dir);
  if (input.results.length === 0) throw new DataError(`${dir} has no results yet (no trials in results*.jsonl); run the study first`);
  const metricFor = (study: string) => input.study?.configs.find((c) => c.name === study)?.metric;
  const analyses = analyze(input.results, { metricFor });
  if (analyses.length === 0) {
    throw new DataError(`${dir} has ${input.results.length} trials but no curve yet: a scale value needs ${MIN_CURVE_POINTS} coefficients finished by every seed; let the study run longer`);
  }
  // Every study under each metric, for the side-by-side table (the headline uses the study's own).
  const byMetric: Record<string, AxisAnalysis[]> = {};
  for (const metric of METRICS) for (const a of analyze(input.results, { metric })) (byMetric[a.study] ??= []).push(a);
  const data: ReportData = { ...input, analyses, byMetric, generatedAt: (options.now ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z') };
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
