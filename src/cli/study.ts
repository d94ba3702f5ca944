/**
 * `ridgeline study`: run (a shard of) a study's trials, skipping finished ones, appending each
 * result to the store as it finishes; `study merge` unions shard stores; `study report` writes
 * the analysis. Layout of the study directory:
 *
 *   study.json                        the study configs (written once; a rerun must match)
 *   results.jsonl                     results of unsharded runs, and the merge of all shards
 *   results.shard-<i>-of-<n>.jsonl    results of `--shard i/n`, so shards never share a file
 */
import { Command } from 'commander';
import { readdir, readFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { splitValidation } from '../data/dataset.js';
import { ConfigError, DataError } from '../errors.js';
import { atomicWriteFile } from '../node/files.js';
import { openInBrowser, writeReport } from '../report/write.js';
import { appendResult, dropTornLine, mergeResults, readStore } from '../node/study-store.js';
import { parseStudyConfig, preset, type StudyConfig } from '../study/config.js';
import { runTrial, type StudyData } from '../study/run-trial.js';
import { canonicalJson, expandTrials, shardTrials, type Trial } from '../study/trials.js';
import { backendOption, resolveBackend } from './backend-option.js';
import { loadData } from './data-source.js';
import { Log } from './log.js';
import { num, validateOptions } from './options.js';

const schema = z.object({
  preset: z.string().optional(),
  config: z.string().optional(),
  data: z.string().optional(),
  out: z.string().min(1),
  shard: z.string().optional(),
  maxMinutes: num.pipe(z.number().positive('must be positive')).optional(),
  jobs: num.pipe(z.number().int('must be an integer').min(1, 'must be at least 1').max(64, 'must be at most 64')).optional(),
  backend: z.string(),
  quiet: z.boolean().optional(),
});

export function studyCommand(): Command {
  const study = new Command('study')
    .description('sweep the regularization coefficient across a scale axis and find where the optimum lands')
    .option('--preset <name>', 'default, width, depth, batch, data, lr, optimizer, all (default: default)')
    .option('--config <file.json>', 'a custom study (see README "Study")')
    .option('--data <dir>', "IDX directory or 'fashion-mnist'; default: the embedded sample")
    .option('--out <dir>', 'study directory (results, report)', 'ridgeline-study')
    .option('--shard <i/n>', 'run only shard i of n (1-based), e.g. one task of an array job')
    .option('--max-minutes <m>', 'start no new trial after this many minutes (rerun to continue)')
    .option('--jobs <n>', 'run n shards side by side as child processes on this machine, then merge (BLAS threads split between them)')
    .addOption(backendOption())
    .option('--quiet', 'print only the summary')
    .action(async (_o, cmd: Command) => runStudy(cmd));
  study.command('merge')
    .description("union the shards' results in a study directory, one line per trial")
    .argument('<dir>', 'study directory')
    .action(async (dir: string) => mergeStudy(dir));
  study.command('report')
    .description('analyze a study directory: write report.html, report.md, optima.csv and trials.csv into it')
    .argument('<dir>', 'study directory')
    .option('--open', 'open report.html in a browser (xdg-open) when one is available')
    .action(async (dir: string, o: { open?: boolean }) => reportStudy(dir, !!o.open));
  return study;
}

async function runStudy(cmd: Command): Promise<void> {
  const o = validateOptions(schema, cmd.opts());
  const log = new Log({ quiet: !!o.quiet, json: false });
  if (o.preset && o.config) throw new ConfigError('give --preset or --config, not both');
  if (o.jobs !== undefined && o.jobs > 1 && o.shard) throw new ConfigError('--jobs runs shards itself; give --jobs or --shard, not both');
  const configs = o.config ? await readConfigs(o.config) : preset(o.preset ?? 'default', o.data !== undefined);
  const data = await loadData(o.data);
  await mkdir(o.out, { recursive: true });
  await pinConfigs(o.out, configs, data.label);

  const all = configs.flatMap((c) => expandTrials(c, data.label));
  const mine = o.shard ? shardTrials(all, o.shard) : all;
  const storePath = join(o.out, o.shard ? `results.shard-${o.shard.replace('/', '-of-')}.jsonl` : 'results.jsonl');
  const store = readStore(storePath);
  if (store.tornLine !== null) {
    log.result(`note: dropped a torn last line of ${storePath} (a run was killed mid-write): ${store.tornLine.slice(0, 60)}…`);
    dropTornLine(storePath);
  }
  // A trial finished in any store of this directory (an unsharded run, other shards, a merge)
  // is done: reruns with other sharding, or with --jobs, never repeat work.
  const done = new Set(store.results.map((r) => r.id));
  for (const file of await storeFiles(o.out)) {
    if (join(o.out, file) !== storePath) for (const r of readStore(join(o.out, file)).results) done.add(r.id);
  }
  const todo = mine.filter((t) => !done.has(t.id));
  log.info(`study: ${configs.map((c) => `${c.name} (${c.axis})`).join(', ')} on ${data.label}: ${all.length} trials` +
    `${o.shard ? `, shard ${o.shard} has ${mine.length}` : ''}, ${mine.length - todo.length} already done, ${todo.length} to run`);

  if (o.jobs !== undefined && o.jobs > 1) return runJobs(o.jobs, o.out, all.length, log);
  const studyData = prepareData(data, configs);
  const backend = await resolveBackend(o.backend, log);
  const started = Date.now();
  log.startBar(mine.length, 'trials', 'trials');
  log.tick(mine.length - todo.length);
  let ran = 0;
  for (const trial of todo) {
    if (o.maxMinutes !== undefined && (Date.now() - started) / 60000 >= o.maxMinutes) break;
    const result = await runTrial(trial, studyData, backend);
    appendResult(storePath, result);
    ran++;
    log.tick(mine.length - todo.length + ran);
  }
  log.stopBar();
  const left = todo.length - ran;
  log.result(left > 0
    ? `stopped after ${o.maxMinutes} minutes with ${left} trials left; run the same command again to continue`
    : `${mine.length} trials done; results in ${storePath}`);
}

/** Validation rows and the training pool, the same for every trial of every config. */
function prepareData(data: Awaited<ReturnType<typeof loadData>>, configs: StudyConfig[]): StudyData {
  const validation = Math.max(...configs.map((c) => c.base.validation));
  const split = splitValidation(data.train, validation, 0);
  for (const c of configs) {
    const largest = Math.max(c.base.trainSize, ...(c.axis === 'data' ? (c.values as number[]) : [0]));
    if (largest > split.train.count) throw new ConfigError(`study ${c.name} asks for ${largest} training rows; the data has ${split.train.count} after holding out ${validation}`);
  }
  return { train: split.train, validation: split.validation, test: data.test };
}

async function readConfigs(path: string): Promise<StudyConfig[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new DataError(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not valid JSON (${(e as Error).message})`}`);
  }
  const list = Array.isArray(json) ? json : [json];
  return list.map((c, i) => parseStudyConfig(c, list.length > 1 ? `${path}[${i}]` : path));
}

/** The first run writes study.json; later runs (and shards) must use the same study. */
async function pinConfigs(dir: string, configs: StudyConfig[], data: string): Promise<void> {
  const path = join(dir, 'study.json');
  const pinned = { data, configs };
  if (existsSync(path)) {
    const saved = JSON.parse(await readFile(path, 'utf8'));
    if (canonicalJson(saved) !== canonicalJson(pinned)) {
      throw new ConfigError(`${dir} holds another study (${path} differs from these options); use another --out`);
    }
    return;
  }
  await atomicWriteFile(path, JSON.stringify(pinned, null, 2) + '\n');
}

/** The result stores in a study directory: results.jsonl and every shard's file. */
async function storeFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => /^results(\.shard-\d+-of-\d+)?\.jsonl$/.test(f)).sort();
}

/**
 * `--jobs n`: this same command n times as `--shard k/n` child processes, each with its share
 * of the threads (native: OPENBLAS_NUM_THREADS; wasm: RIDGELINE_WASM_THREADS, whose split jobs
 * would wait for a worker that another shard keeps off its core), then a merge. Small models
 * use a second core far better as a second trial than as a second BLAS thread (measured: 2 BLAS
 * threads speed a 256-wide MLP step by ~6%). Progress is the line count of the shards' stores; a signal is passed on to them.
 */
async function runJobs(jobs: number, out: string, total: number, log: Log): Promise<void> {
  const args = withoutJobs(process.argv.slice(2));
  const blasThreads = String(Math.max(1, Math.floor(availableParallelism() / jobs)));
  const children = Array.from({ length: jobs }, (_, k) => spawn(process.execPath,
    [...process.execArgv, process.argv[1], ...args, '--shard', `${k + 1}/${jobs}`, '--quiet'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OPENBLAS_NUM_THREADS: blasThreads, RIDGELINE_WASM_THREADS: blasThreads } }));
  const outputs = children.map(() => ({ stdout: '', stderr: '' }));
  children.forEach((c, k) => {
    c.stdout!.setEncoding('utf8').on('data', (d: string) => { outputs[k].stdout += d; });
    c.stderr!.setEncoding('utf8').on('data', (d: string) => { outputs[k].stderr += d; });
  });
  const forward = (signal: NodeJS.Signals) => () => { for (const c of children) c.kill(signal); };
  const onInt = forward('SIGINT'), onTerm = forward('SIGTERM');
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  log.info(`study: ${jobs} jobs (shards 1/${jobs} … ${jobs}/${jobs}), ${blasThreads} BLAS thread(s) each`);
  log.startBar(total, 'trials', 'trials');
  log.tick(await countDone(out));
  const timer = setInterval(() => { void countDone(out).then((n) => log.tick(n)); }, 2000);
  try {
    const codes = await Promise.all(children.map((c) => new Promise<number>((resolve) => c.on('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1))))));
    const failed = codes.map((c, k) => ({ c, k })).filter(({ c }) => c !== 0);
    for (const { k } of failed) process.stderr.write(outputs[k].stderr);
    if (failed.length > 0) {
      throw new DataError(`${failed.length} of ${jobs} jobs failed (shards ${failed.map(({ k }) => `${k + 1}/${jobs}`).join(', ')}); finished trials are kept: run the same command again to continue`);
    }
  } finally {
    clearInterval(timer);
    log.stopBar();
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  for (const o of outputs) if (o.stdout.trim()) log.result(o.stdout.trim());
  await mergeStudy(out);
}

function withoutJobs(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--jobs') { i++; continue; }
    if (argv[i].startsWith('--jobs=')) continue;
    out.push(argv[i]);
  }
  return out;
}

async function countDone(dir: string): Promise<number> {
  const ids = new Set<string>();
  for (const f of await storeFiles(dir)) for (const r of readStore(join(dir, f)).results) ids.add(r.id);
  return ids.size;
}

async function mergeStudy(dir: string): Promise<void> {
  if (!existsSync(join(dir, 'study.json'))) throw new DataError(`${dir} is not a study directory (no study.json)`);
  const files = await storeFiles(dir);
  const stores = files.map((f) => {
    const s = readStore(join(dir, f));
    if (s.tornLine !== null) process.stderr.write(`note: ${f} ends in a torn line (a killed run); it is ignored\n`);
    return s.results;
  });
  const merged = mergeResults(stores);
  const { data, configs } = JSON.parse(await readFile(join(dir, 'study.json'), 'utf8')) as { data: string; configs: StudyConfig[] };
  const expected = new Set(configs.flatMap((c) => expandTrials(c, data)).map((t: Trial) => t.id));
  const missing = [...expected].filter((id) => !merged.some((r) => r.id === id)).length;
  await atomicWriteFile(join(dir, 'results.jsonl'), merged.map((r) => JSON.stringify(r)).join('\n') + (merged.length ? '\n' : ''));
  process.stderr.write(`merged ${files.length} stores: ${merged.length} trials (${missing} of ${expected.size} still missing) → ${join(dir, 'results.jsonl')}\n`);
}

async function reportStudy(dir: string, open: boolean): Promise<void> {
  const r = await writeReport(dir);
  for (const note of r.notes) process.stderr.write(`note: ${note}\n`);
  process.stdout.write(Object.values(r.paths).join('\n') + '\n');
  for (const a of r.answers) process.stdout.write(`\n${a.study} (${a.axis}):\n${a.text}\n`);
  if (open) process.stdout.write(`\n${await openInBrowser(r.paths.html)}\n`);
}
