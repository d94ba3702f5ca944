/**
 * `ridgeline study`: run (a shard of) a study's trials, skipping finished ones, appending each
 * result to the store as it finishes; `study merge` unions shard stores; `study report` writes
 * the analysis. The directory's layout is node/study-dir.ts's.
 */
import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { splitValidation } from '../data/dataset.js';
import { ConfigError, DataError } from '../errors.js';
import { atomicWriteFile, checkWritableDir } from '../node/files.js';
import { openInBrowser, writeReport } from '../report/write.js';
import { appendResult, dropTornLine, lockStore, mergeResults, readStore } from '../node/study-store.js';
import { readAllResults, readStudyFile, storeFiles, STUDY_FILE } from '../node/study-dir.js';
import { checkModelSize, parseArch } from '../nn/spec.js';
import { AXES, parseStudyConfig, type StudyConfig, type StudyFile } from '../study/config.js';
import { METRICS } from '../study/metrics.js';
import { preset, PRESET_NAMES } from '../study/presets.js';
import { runTrial, type StudyData, type TrialResult } from '../study/run-trial.js';
import { canonicalJson, expandTrials, settingsAt, shardTrials, type StudyDataInfo, type Trial } from '../study/trials.js';
import { backendOption, resolveBackend } from './backend-option.js';
import { loadData } from './data-source.js';
import { Log } from './log.js';
import { num, validateOptions } from './options.js';

const schema = z.object({
  preset: z.string().optional(),
  config: z.string().optional(),
  arch: z.string().optional(),
  axis: z.enum(AXES).optional(),
  values: z.string().optional(),
  name: z.string().min(1).max(100).optional(),
  metric: z.enum(METRICS).optional(),
  data: z.string().optional(),
  out: z.string().min(1),
  shard: z.string().optional(),
  maxMinutes: num.pipe(z.number().positive('must be positive')).optional(),
  jobs: num.pipe(z.number().int('must be an integer').min(1, 'must be at least 1').max(64, 'must be at most 64')).optional(),
  backend: z.string(),
  quiet: z.boolean().optional(),
});
type StudyOptions = z.infer<typeof schema>;

export function studyCommand(): Command {
  const study = new Command('study')
    .description('sweep the regularization coefficient across a scale axis and find where the optimum lands')
    .option('--preset <name>', `${PRESET_NAMES.join(', ')} (default: default)`)
    .option('--config <file.json>', 'a custom study (docs/study.md)')
    .option('--arch <spec>', 'study this network (train --arch grammar); with --axis and --values')
    .option('--axis <axis>', `what varies: ${AXES.join(', ')}`)
    .option('--values <list>', 'the axis values, comma-separated (width with --arch: multipliers, e.g. 0.5,1,2,4)')
    .option('--name <name>', 'the study name (default: the axis)')
    .option('--metric <metric>', `what "best" means: ${METRICS.join(', ')} (default: final-ce)`)
    .option('--data <dir>', "IDX directory, 'fashion-mnist', or a CSV file; default: the embedded sample")
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

/** The study configs the options ask for: a preset, a config file, or one built from --arch/--axis/--values. */
async function configsFrom(o: StudyOptions): Promise<StudyConfig[]> {
  const custom = o.arch !== undefined || o.axis !== undefined || o.values !== undefined;
  if ([o.preset !== undefined, o.config !== undefined, custom].filter(Boolean).length > 1) {
    throw new ConfigError('give one of --preset, --config, or --arch/--axis/--values');
  }
  let configs: StudyConfig[];
  if (o.config) configs = await readConfigs(o.config);
  else if (!custom) configs = preset(o.preset ?? 'default', o.data !== undefined);
  else {
    if (o.axis === undefined || o.values === undefined) throw new ConfigError('--arch, --axis and --values go together: give --axis and --values');
    const [template] = preset('default', o.data !== undefined);
    const values = o.values.split(',').map((v) => v.trim()).map((v) => (v !== '' && Number.isFinite(Number(v)) ? Number(v) : v));
    const base = o.arch !== undefined ? { ...template.base, hidden: undefined, arch: o.arch } : template.base;
    configs = [parseStudyConfig({ ...template, name: o.name ?? o.axis, axis: o.axis, values, base }, '--axis/--values')];
  }
  if (o.name !== undefined && !custom) throw new ConfigError('--name applies to a study built from --arch/--axis/--values');
  return o.metric ? configs.map((c) => ({ ...c, metric: o.metric! })) : configs;
}

/** Set for a --jobs child: its stdin is a pipe from the parent, and its end means the parent is gone. */
const PARENT_PIPE = 'RIDGELINE_STUDY_PARENT_PIPE';

function watchParent(): void {
  if (process.env[PARENT_PIPE] !== '1') return;
  process.stdin.on('end', () => process.exit(129));
  process.stdin.on('error', () => process.exit(129));
  process.stdin.resume();
  // Watching must not keep the child alive once its own work is done.
  (process.stdin as unknown as { unref?: () => void }).unref?.();
}

async function runStudy(cmd: Command): Promise<void> {
  watchParent();
  const o = validateOptions(schema, cmd.opts());
  const log = new Log({ quiet: !!o.quiet, json: false });
  if (o.jobs !== undefined && o.jobs > 1 && o.shard !== undefined) throw new ConfigError('--jobs runs shards itself; give --jobs or --shard, not both');
  if (o.shard !== undefined) shardTrials([], o.shard); // a malformed --shard (or an empty one) fails before any work
  const configs = await configsFrom(o);
  const data = await loadData(o.data);
  const info: StudyDataInfo = { label: data.label, classes: data.train.classes };
  // Every trial's model must fit the data before anything runs.
  for (const c of configs) {
    for (const v of c.values) {
      const s = settingsAt(c, v, info.classes);
      checkModelSize(parseArch(s.arch, data.train.shape, info.classes), s.batch);
    }
  }
  await checkWritableDir(o.out);
  await pinConfigs(o.out, configs, info);

  const storePath = join(o.out, o.shard !== undefined ? `results.shard-${o.shard.replace('/', '-of-')}.jsonl` : 'results.jsonl');
  const lock = lockStore(storePath);
  process.once('exit', lock.release);
  const store = readStore(storePath);
  if (store.tornLine !== null) {
    log.result(`note: dropped a torn last line of ${storePath} (a run was killed mid-write): ${store.tornLine.slice(0, 60)}…`);
    dropTornLine(storePath);
  }
  const first = pending(o, configs, info);
  log.info(`study: ${configs.map((c) => `${c.name} (${c.axis})`).join(', ')} on ${data.label}: ${first.known} trials known so far` +
    `${o.shard !== undefined ? `, shard ${o.shard} has ${first.mine}` : ''}, ${first.done} done, ${first.todo.length} to run; refinement passes add more as results arrive`);
  if (o.jobs !== undefined && o.jobs > 1) return runJobs(o.jobs, o, configs, info, log);

  const studyData = prepareData(data, configs);
  const backend = await resolveBackend(o.backend, log);
  const started = Date.now();
  const progress = new Progress(log, first.done);
  let ran = 0, stopped = false;
  // A trial finished in any store of this directory (an unsharded run, other shards, a merge)
  // is done, so reruns with other sharding, or with --jobs, never repeat work. Each round
  // rereads the stores: a refinement pass becomes known once its scale's earlier points are done.
  for (let round = pending(o, configs, info); round.todo.length > 0 && !stopped; round = pending(o, configs, info)) {
    progress.setTotal(round.mine, round.done);
    for (const trial of round.todo) {
      if (o.maxMinutes !== undefined && (Date.now() - started) / 60000 >= o.maxMinutes) { stopped = true; break; }
      const result = await runTrial(trial, studyData, backend);
      appendResult(storePath, result);
      ran++;
      progress.finished(result);
    }
  }
  progress.stop();
  const left = pending(o, configs, info);
  log.result(left.todo.length > 0
    ? `${stopped ? `stopped after ${o.maxMinutes} minutes` : 'this shard is done for now'} with ${left.todo.length} trials left${stopped ? '' : ' (waiting on other shards)'}; run the same command again to continue`
    : `${left.mine} trials done (${ran} this run); results in ${storePath}`);
}

/** The trials known now (refinement passes included), this shard's share, and which are not done. */
function pending(o: StudyOptions, configs: StudyConfig[], info: StudyDataInfo): { known: number; mine: number; done: number; todo: Trial[] } {
  const { results } = readAllResults(o.out);
  const done = new Set(results.map((r) => r.id));
  const all = configs.flatMap((c) => expandTrials(c, info, results));
  const mine = o.shard !== undefined ? shardTrials(all, o.shard) : all;
  const todo = mine.filter((t) => !done.has(t.id));
  return { known: all.length, mine: mine.length, done: mine.length - todo.length, todo };
}

/**
 * Progress: a bar on a TTY; otherwise one line per finished trial (done/known, the trial, its
 * metric, ETA from this run's mean time per trial), so a log file shows how far a study is.
 */
class Progress {
  private total = 0;
  private done: number;
  private readonly startedAt = Date.now();
  private ranHere = 0;
  constructor(private readonly log: Log, done: number) {
    this.done = done;
  }
  setTotal(total: number, done: number): void {
    this.total = total;
    this.done = done;
    this.log.stopBar();
    this.log.startBar(total, 'trials', 'trials');
    this.log.tick(done);
  }
  finished(r: TrialResult): void {
    this.done++;
    this.ranHere++;
    if (this.log.hasBar) { this.log.tick(this.done); return; }
    const perTrial = (Date.now() - this.startedAt) / this.ranHere;
    const eta = Math.round((perTrial * (this.total - this.done)) / 60000);
    const t = r.trial;
    this.log.info(`trial ${this.done}/${this.total} ${t.study} ${t.axis}=${t.value} ${t.kind === 'coupled' ? 'λ_E' : 'c'}=${t.coefficient} seed ${t.seed}: ` +
      `${r.diverged ? 'diverged' : `val CE ${r.final_val_ce?.toFixed(4)}, val acc ${((r.final_val_accuracy ?? 0) * 100).toFixed(2)}%`}, ${r.seconds.toFixed(1)} s; ETA ${eta} min for the trials known so far`);
  }
  stop(): void {
    this.log.stopBar();
  }
}

/** Validation rows and the training pool, the same for every trial of every config. */
function prepareData(data: Awaited<ReturnType<typeof loadData>>, configs: StudyConfig[]): StudyData {
  const validation = Math.max(...configs.map((c) => c.base.validation));
  const split = splitValidation(data.train, validation, 0);
  for (const c of configs) {
    const largest = Math.max(c.base.trainSize, ...c.values.map((v) => settingsAt(c, v, data.train.classes).trainSize));
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
  const configs = list.map((c, i) => parseStudyConfig(c, list.length > 1 ? `${path}[${i}]` : path));
  const names = configs.map((c) => c.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new ConfigError(`${path}: two studies are named '${dup}'; names tell their trials apart`);
  return configs;
}

/** The first run writes study.json; later runs (and shards) must use the same study. */
async function pinConfigs(dir: string, configs: StudyConfig[], info: StudyDataInfo): Promise<void> {
  const path = join(dir, STUDY_FILE);
  const pinned: StudyFile = { edition: 2, data: info.label, classes: info.classes, configs };
  if (existsSync(path)) {
    const saved = readStudyFile(dir);
    if (saved.edition < 2) {
      throw new ConfigError(`${dir} holds a first-edition study (trials without per-epoch curves or seeded subsets); \`study report ${dir}\` still reads it, but run this study into a new --out`);
    }
    if (canonicalJson(saved) !== canonicalJson(JSON.parse(JSON.stringify(pinned)))) {
      throw new ConfigError(`${dir} holds another study (${path} differs from these options); use another --out`);
    }
    return;
  }
  await atomicWriteFile(path, JSON.stringify(pinned, null, 2) + '\n');
}

/**
 * `--jobs n`: this same command n times as `--shard k/n` child processes, each with its share
 * of the threads (native: OPENBLAS_NUM_THREADS; wasm: RIDGELINE_WASM_THREADS, whose split jobs
 * would wait for a worker that another shard keeps off its core), then a merge; again while
 * the merge makes refinement passes known. Small models use a second core far better as a
 * second trial than as a second BLAS thread (measured: 2 BLAS threads speed a 256-wide MLP
 * step by ~6%). Progress is the count of finished trials; a signal is passed on to the children.
 */
async function runJobs(jobs: number, o: StudyOptions, configs: StudyConfig[], info: StudyDataInfo, log: Log): Promise<void> {
  const args = withoutJobs(process.argv.slice(2));
  const blasThreads = String(Math.max(1, Math.floor(availableParallelism() / jobs)));
  log.info(`study: ${jobs} jobs (shards 1/${jobs} … ${jobs}/${jobs}), ${blasThreads} BLAS thread(s) each`);
  for (;;) {
    const before = pending(o, configs, info);
    if (before.todo.length === 0) break;
    await runChildren(jobs, args, blasThreads, o.out, before.mine, log);
    await mergeStudy(o.out);
    const after = pending(o, configs, info);
    if (after.done === before.done) break; // no progress (every child stopped at --max-minutes)
  }
  const left = pending(o, configs, info);
  log.result(left.todo.length > 0 ? `${left.todo.length} trials left; run the same command again to continue` : `${left.mine} trials done; results in ${join(o.out, 'results.jsonl')}`);
}

async function runChildren(jobs: number, args: string[], blasThreads: string, out: string, total: number, log: Log): Promise<void> {
  // Each child holds the read end of a pipe from this process: when this process dies (even by
  // SIGKILL) the pipe closes and the child stops too (watchParent), so no orphan keeps training.
  const children = Array.from({ length: jobs }, (_, k) => spawn(process.execPath,
    [...process.execArgv, process.argv[1], ...args, '--shard', `${k + 1}/${jobs}`, '--quiet'],
    { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, OPENBLAS_NUM_THREADS: blasThreads, RIDGELINE_WASM_THREADS: blasThreads, [PARENT_PIPE]: '1' } }));
  const outputs = children.map(() => ({ stdout: '', stderr: '' }));
  children.forEach((c, k) => {
    c.stdout!.setEncoding('utf8').on('data', (d: string) => { outputs[k].stdout += d; });
    c.stderr!.setEncoding('utf8').on('data', (d: string) => { outputs[k].stderr += d; });
  });
  const forward = (signal: NodeJS.Signals) => () => { for (const c of children) c.kill(signal); };
  const onInt = forward('SIGINT'), onTerm = forward('SIGTERM');
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  log.startBar(total, 'trials', 'trials');
  let last = countDone(out);
  log.tick(last);
  const timer = setInterval(() => {
    const n = countDone(out);
    if (n === last) return;
    last = n;
    if (log.hasBar) log.tick(n);
    else log.info(`trials done: ${n} of ${total} known`);
  }, 5000);
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

function countDone(dir: string): number {
  return readAllResults(dir).results.length;
}

async function mergeStudy(dir: string): Promise<void> {
  const study = readStudyFile(dir);
  const { results, notes } = readAllResults(dir);
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
  const files = storeFiles(dir);
  // The merged store keeps each record as it was written (first-edition records stay first-edition).
  const raw = mergeResults(files.map((f) => readStore(join(dir, f)).results));
  const info = { label: study.data, classes: study.classes };
  const expected = study.edition >= 2 ? new Set(study.configs.flatMap((c) => expandTrials(c, info, results)).map((t) => t.id)) : null;
  const have = new Set(results.map((r) => r.id));
  const missing = expected ? [...expected].filter((id) => !have.has(id)).length : 0;
  await atomicWriteFile(join(dir, 'results.jsonl'), raw.map((r) => JSON.stringify(r)).join('\n') + (raw.length ? '\n' : ''));
  process.stderr.write(`merged ${files.length} stores: ${raw.length} trials${expected ? ` (${missing} of the ${expected.size} known so far still missing)` : ''} → ${join(dir, 'results.jsonl')}\n`);
}

async function reportStudy(dir: string, open: boolean): Promise<void> {
  const r = await writeReport(dir);
  for (const note of r.notes) process.stderr.write(`note: ${note}\n`);
  process.stdout.write(Object.values(r.paths).join('\n') + '\n');
  for (const a of r.answers) process.stdout.write(`\n${a.study} (${a.axis}):\n${a.text}\n`);
  if (open) process.stdout.write(`\n${await openInBrowser(r.paths.html)}\n`);
}
