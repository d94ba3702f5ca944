/**
 * `ridgeline train`: options → a TrainConfig, the start-of-training printout (data, model,
 * transform chain, regularization per group), the epoch loop with progress and metrics, the
 * run directory, and --resume.
 */
import { Command, Option } from 'commander';
import { z } from 'zod';
import { splitValidation } from '../data/dataset.js';
import { ConfigError, DivergenceError } from '../errors.js';
import { archToken, describeSpec, mlpSpec, parseArch, type Activation } from '../nn/spec.js';
import { OPTIMIZERS, type OptimizerConfig } from '../optim/recipes.js';
import type { ScheduleSpec } from '../optim/schedule.js';
import { formatSummary } from '../regularization/summary.js';
import { Trainer, type EpochMetrics, type TrainConfig } from '../train/trainer.js';
import { bestEpoch } from '../train/early-stop.js';
import { formatLayerRows, layerRows } from '../nn/summary.js';
import { ensureRunDir, loadCheckpoint, readModelTensors, saveEpoch, saveInitialModel, saveResult, CHECKPOINT_FILE, RESULT_FILE } from '../node/run-dir.js';
import { loadTensors } from '../format/model-file.js';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadData } from './data-source.js';
import { compileRegularization } from '../regularization/compile.js';
import { backendThreads } from '../kernels/select.js';
import type { Backend } from '../kernels/backend.js';
import type { NativeBackend, NativeGemm } from '../kernels/native/index.js';
import { backendOption, resolveBackend } from './backend-option.js';
import { withFlags } from './flags.js';
import { Log } from './log.js';
import { exampleShape, fraction, nonNegative, num, positive, positiveInt, validateOptions, widths } from './options.js';

const schema = z.object({
  data: z.string().optional(),
  testData: z.string().optional(),
  hidden: widths,
  arch: z.string().min(1).optional(),
  shape: exampleShape.optional(),
  activation: z.enum(['relu', 'tanh', 'gelu']),
  dropout: fraction,
  epochs: positiveInt,
  batch: positiveInt,
  optimizer: z.enum(OPTIMIZERS as [string, ...string[]]),
  lr: positive,
  momentum: fraction,
  dampening: fraction,
  beta1: fraction,
  beta2: fraction,
  eps: positive,
  schedule: z.enum(['constant', 'step', 'cosine']),
  stepEpochs: positiveInt,
  gamma: positive,
  minLr: nonNegative,
  warmupSteps: num.pipe(z.number().int('must be an integer').nonnegative('must be non-negative')),
  l2: z.string().optional(),
  decay: z.string().optional(),
  decayParams: z.string().min(1),
  decayMult: z.string().optional(),
  widthMult: positive.optional(),
  validation: nonNegative,
  seed: num.pipe(z.number().int('must be an integer').nonnegative('must be non-negative')),
  out: z.string().optional(),
  resume: z.string().optional(),
  backend: z.string(),
  earlyStop: positiveInt.optional(),
  init: z.string().min(1).optional(),
  keep: z.enum(['last', 'best']),
  quiet: z.boolean().optional(),
  json: z.boolean().optional(),
});
type Options = z.infer<typeof schema>;

/** Options that may differ on --resume: they do not change what is computed (epochs only extends it). */
const RESUMABLE = new Set(['epochs', 'out', 'resume', 'quiet', 'json', 'backend']);
/** Not saved with the run: where output goes. */
const NOT_STORED = new Set(['out', 'resume', 'quiet', 'json', 'backend']);

export function trainCommand(): Command {
  return new Command('train')
    .description('train a classifier (an MLP, or any --arch) on E = mean CE + λ_E·Σw² (embedded Fashion-MNIST sample by default)')
    .option('--data <dir|file.csv>', "IDX directory, 'fashion-mnist' (the Debian copy) or a CSV file; default: the embedded sample")
    .option('--test-data <file.csv>', 'a labelled CSV test set (with --data FILE.csv)')
    .option('--shape <CxHxW>', 'with CSV data: the shape of each row, e.g. 1x28x28 (rows are flat vectors without it)')
    .option('--hidden <widths>', 'MLP shorthand: hidden layer widths, comma-separated', '256,256')
    .option('--arch <spec>', "the network, layer by layer, e.g. 'conv:32x3p1,bn,relu,pool:2,conv:64x3p1,bn,relu,pool:2,flatten,dense:128,relu,dense:10' (see README: Model spec); replaces --hidden/--activation/--dropout")
    .addOption(new Option('--activation <name>', 'hidden activation').choices(['relu', 'tanh', 'gelu']).default('relu'))
    .option('--dropout <p>', 'dropout rate after each hidden activation', '0')
    .option('--epochs <n>', 'epochs to train', '5')
    .option('--batch <B>', 'minibatch size', '128')
    .addOption(new Option('--optimizer <name>', 'optimizer recipe').choices(OPTIMIZERS as string[]).default('momentum'))
    .option('--lr <η>', 'peak learning rate', '0.05')
    .option('--momentum <μ>', 'momentum for momentum/nesterov', '0.9')
    .option('--dampening <d>', 'momentum dampening (PyTorch semantics)', '0')
    .option('--beta1 <β1>', 'Adam β1', '0.9')
    .option('--beta2 <β2>', 'Adam β2', '0.999')
    .option('--eps <ε>', 'Adam ε', '1e-8')
    .addOption(new Option('--schedule <name>', 'learning-rate schedule').choices(['constant', 'step', 'cosine']).default('constant'))
    .option('--step-epochs <n>', "with --schedule step: multiply the lr by --gamma every n epochs", '10')
    .option('--gamma <γ>', 'with --schedule step: the factor', '0.1')
    .option('--min-lr <η>', 'with --schedule cosine: the final learning rate', '0')
    .option('--warmup-steps <n>', 'linear learning-rate warm-up over n steps', '0')
    .option('--l2 <coef>', "coupled L2: λ_E of E = mean CE + λ_E·Σw², or any coupled convention, e.g. 'pytorch-sgd:weight_decay=5e-4', 'sklearn-mlp:alpha=0.064' (see `ridgeline conventions`); default 1e-4, or 0 when --decay is given or the optimizer is adamw")
    .option('--decay <coef>', "decoupled weight decay: a number is PyTorch AdamW's c (δ = η·c per step), or a convention, e.g. 'keras3:weight_decay=0.004', 'tfa-sgdw:weight_decay=1e-5'")
    .option('--decay-params <sel>', "decayed parameters: 'weights' (rank ≥ 2), 'all', 'framework' (the convention's own default) or name globs like 'dense1.weight,*.bias'", 'weights')
    .option('--decay-mult <list>', "per-parameter multipliers of the coefficients, e.g. 'dense1.*=0.5,dense3.weight=0' (ConvNetJS l2_decay_mul)")
    .option('--width-mult <m>', 'width multiplier m for muP conventions (mup-adamw)')
    .option('--validation <n>', 'validation rows held out of the training set: a count or a fraction', '0.1')
    .option('--seed <n>', 'seed for initialization, shuffling, dropout and the validation split', '1')
    .option('--out <dir>', 'run directory for checkpoint, model, metrics (default: none; --resume DIR implies DIR)')
    .option('--resume <dir>', 'continue a run from DIR/checkpoint.safetensors')
    .option('--init <file>', "initial weights: a ridgeline model file, or a PyTorch state_dict saved as safetensors (mapped onto the network by order and shape)")
    .option('--early-stop <patience>', 'stop once the validation CE has not improved for this many epochs')
    .addOption(new Option('--keep <which>', "with --out: 'best' also saves the best epoch's model (lowest validation CE) as model-best.safetensors").choices(['last', 'best']).default('last'))
    .addOption(backendOption())
    .option('--quiet', 'print only the final result')
    .option('--json', 'print metrics as JSON lines on stdout')
    .action(async (_opts, cmd: Command) => runTrain(cmd));
}

async function runTrain(cmd: Command): Promise<void> {
  let raw = cmd.opts() as Record<string, unknown>;
  let resumed: Awaited<ReturnType<typeof loadCheckpoint>> | null = null;
  let savedBackend: string | undefined, savedVariant: string | undefined;
  if (raw.resume !== undefined) {
    resumed = await loadCheckpoint(String(raw.resume));
    const saved = resumed.config as { options: Record<string, unknown>; backend?: unknown; backendVariant?: unknown };
    if (typeof saved.backendVariant === 'string') savedVariant = saved.backendVariant;
    raw = mergeResumeOptions(cmd, saved.options);
    // The run continues on the backend it started on (another one rounds differently), unless told otherwise.
    if (typeof saved.backend === 'string') {
      savedBackend = saved.backend;
      if (cmd.getOptionValueSource('backend') !== 'cli') raw.backend = saved.backend;
    }
  }
  const opts = validateOptions(schema, raw);
  const log = new Log({ quiet: !!opts.quiet, json: !!opts.json });
  const out = opts.out ?? opts.resume;
  if (resumed && out && resumed.state.epoch >= opts.epochs && existsSync(join(out, RESULT_FILE))) {
    // A finished run: report it as it was, instead of re-evaluating (and rewriting) it.
    const result = JSON.parse(await readFile(join(out, RESULT_FILE), 'utf8')) as Record<string, unknown>;
    log.result(`${out} is complete (${resumed.state.epoch} of ${opts.epochs} epochs); give a larger --epochs to continue it`);
    if (typeof result.test_accuracy === 'number') log.result(`test accuracy ${(100 * result.test_accuracy).toFixed(2)}%, test loss ${Number(result.test_loss).toFixed(4)} (from ${join(out, RESULT_FILE)})`);
    log.json(result);
    return;
  }

  if (opts.arch !== undefined) {
    const clash = ['hidden', 'activation', 'dropout'].filter((k) => cmd.getOptionValueSource(k) === 'cli');
    if (clash.length > 0) throw new ConfigError(`--arch describes the whole network; drop ${clash.map((k) => `--${k}`).join(', ')} (write them into the spec)`);
  }
  const data = await loadData(opts.data, opts.testData, opts.shape);
  const { train, validation } = splitValidation(data.train, opts.validation, opts.seed);
  const { config, notes } = trainConfig(opts, train.shape, train.classes, train.count);
  // A resumed wasm run asks for the module it started on (relaxed SIMD rounds differently from SIMD128).
  const wasmVariant = opts.backend === 'wasm' && (savedVariant === 'relaxed-simd' || savedVariant === 'simd128') ? savedVariant : undefined;
  const backend = await resolveBackend(opts.backend, log, wasmVariant);
  const trainer = new Trainer(config, backend, train, validation);
  if (resumed) trainer.restore(resumed.state, resumed.path);
  else if (opts.init !== undefined) {
    const file = await readModelTensors(opts.init, { text: config.model.layers.map(archToken).join(','), inputShape: train.shape, classes: train.classes });
    loadTensors(trainer.model.tensors, file.tensors, opts.init);
  }
  if (savedBackend !== undefined && savedBackend !== backend.name) {
    log.info(`note: the run started on the ${savedBackend} backend and continues on ${backend.name}: results differ in the last bits from an uninterrupted run`);
  } else if (savedVariant !== undefined && savedVariant !== backendVariant(backend)) {
    // The same backend with other kernels (the native GEMM, the wasm module) rounds differently too.
    const native = backend as Partial<NativeBackend>;
    if (native.setGemm && ['own', 'blas', 'portable'].includes(savedVariant)) {
      try { native.setGemm(savedVariant as NativeGemm); } catch { /* not on this machine: said below */ }
    }
    if (savedVariant !== backendVariant(backend)) log.info(`note: the run started on ${backend.name} kernels ${savedVariant} and continues on ${backendVariant(backend)}: results differ in the last bits`);
  }

  log.info(`data: ${data.label}: ${train.count} train, ${validation.count} validation, ${data.test?.count ?? 0} test`);
  const threads = backendThreads(backend);
  // The wasm backend says which module it runs (relaxed SIMD's FMA or plain SIMD128).
  const variant = (backend as { variant?: unknown }).variant;
  log.info(`model: ${describeSpec(config.model)} (${trainer.model.paramCount} parameters), backend ${backend.name}` +
    (typeof variant === 'string' ? ` (${variant})` : '') + (threads === null ? '' : ` on ${threads} thread${threads === 1 ? '' : 's'}`));
  const groups = trainer.regularizationSummary();
  const layers = layerRows(config.model, new Set(trainer.decayedNames()));
  log.info(formatLayerRows(layers));
  log.info(`optimizer: ${opts.optimizer}, chain [${trainer.chainNames().join(' → ')}], B = ${opts.batch}, ${trainer.stepsPerEpoch} steps/epoch`);
  for (const note of notes) log.info(`note: ${note}`);
  log.info(formatSummary(groups, trainer.stepsPerEpoch, opts.optimizer === 'momentum' || opts.optimizer === 'nesterov' ? opts.momentum : undefined));
  if (opts.earlyStop !== undefined && validation.count === 0) throw new ConfigError('--early-stop needs validation rows: give --validation');
  if (opts.keep === 'best' && validation.count === 0) throw new ConfigError("--keep best picks the epoch by validation CE: give --validation");
  // The start record: what a piped run would otherwise lose (config, model, regularization per group).
  log.json({
    type: 'start', data: { label: data.label, train: train.count, validation: validation.count, test: data.test?.count ?? 0 },
    backend: backend.name, parameters: trainer.model.paramCount, layers, chain: trainer.chainNames(),
    steps_per_epoch: trainer.stepsPerEpoch, config, regularization: groups, notes, resumed_after_epoch: resumed?.state.epoch ?? null,
  });
  if (resumed) log.info(`resuming from ${resumed.path} after epoch ${resumed.state.epoch}`);
  if (!out) log.info(log.dim('(no --out: nothing is saved)'));

  const runConfig = { options: storedOptions(raw), train: config, backend: backend.name, backendVariant: backendVariant(backend) };
  const modelMetadata = { data: data.label };
  if (out) {
    await ensureRunDir(out);
    if (!resumed) await saveInitialModel(out, trainer, modelMetadata);
  }

  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    log.startBar(trainer.stepsPerEpoch, `epoch ${trainer.epoch + 1}/${config.epochs}`);
    await trainer.fit({
      signal: abort.signal, earlyStopPatience: opts.earlyStop,
      onStep: (s, _n, loss) => log.tick(s, loss),
      onEpoch: async (m) => {
        log.stopBar();
        log.result(formatEpoch(m, config.epochs));
        log.json({ type: 'epoch', ...m });
        if (out) await saveEpoch(out, trainer, runConfig, modelMetadata, opts.keep === 'best');
        if (trainer.stoppedEarly(opts.earlyStop)) log.result(`early stop: no better validation CE for ${opts.earlyStop} epochs (best: epoch ${bestEpoch(trainer.history)!.epoch})`);
        else if (trainer.epoch < config.epochs) log.startBar(trainer.stepsPerEpoch, `epoch ${trainer.epoch + 1}/${config.epochs}`);
      },
    });
  } catch (e) {
    log.stopBar();
    if (e instanceof DivergenceError && out) {
      const saved = trainer.history.length;
      throw new DivergenceError(saved > 0
        ? `${e.message}\nThe last good checkpoint (epoch ${saved}) is kept in ${out}/${CHECKPOINT_FILE}.`
        : `${e.message}\nNo epoch finished, so no checkpoint was written.`);
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (abort.signal.aborted) {
    log.stopBar();
    log.result(`interrupted during epoch ${trainer.epoch + 1}${out ? `; continue with: ridgeline train --resume ${out}` : ''}`);
    process.exitCode = 130;
    return;
  }

  const test = data.test ? trainer.evaluate(data.test) : null;
  const final = trainer.history[trainer.history.length - 1];
  const best = bestEpoch(trainer.history);
  const result = {
    type: 'result', epochs: trainer.epoch, steps: trainer.step, stopped_early: trainer.stoppedEarly(opts.earlyStop),
    best_epoch: best?.epoch ?? null, best_val_loss: best?.val_loss ?? null,
    test_accuracy: test?.accuracy ?? null, test_loss: test?.loss ?? null, test_count: test?.count ?? 0,
    val_accuracy: final?.val_accuracy ?? null, train_seconds: trainer.history.reduce((s, h) => s + h.seconds, 0),
    parameters: trainer.model.paramCount,
  };
  if (test) log.result(`test accuracy ${(100 * test.accuracy).toFixed(2)}% (${test.count} images), test loss ${test.loss.toFixed(4)}`);
  log.json(result);
  if (out) {
    await saveResult(out, result);
    log.info(`saved ${out}/model.safetensors`);
  }
}

/** The kernels a backend picked: the native GEMM ('own', 'blas', 'portable') or the wasm module. */
function backendVariant(b: Backend): string | undefined {
  const o = b as unknown as { gemmKind?: () => string; variant?: unknown };
  if (typeof o.gemmKind === 'function') return o.gemmKind();
  return typeof o.variant === 'string' ? o.variant : undefined;
}

function trainConfig(o: Options, shape: readonly number[], classes: number, trainCount: number): { config: TrainConfig; notes: string[] } {
  const stepsPerEpoch = Math.ceil(trainCount / o.batch);
  let schedule: ScheduleSpec;
  switch (o.schedule) {
    case 'constant': schedule = { type: 'constant', lr: o.lr }; break;
    case 'step': schedule = { type: 'step', lr: o.lr, every: o.stepEpochs * stepsPerEpoch, gamma: o.gamma }; break;
    case 'cosine': schedule = { type: 'cosine', lr: o.lr, steps: o.epochs * stepsPerEpoch, minLr: o.minLr }; break;
  }
  if (o.warmupSteps > 0) schedule = { type: 'warmup', steps: o.warmupSteps, then: schedule };
  const features = shape.reduce((a, b) => a * b, 1);
  const model = o.arch !== undefined ? archFor(o.arch, shape, classes) : mlpSpec(features, o.hidden, classes, o.activation as Activation, o.dropout);
  const reg = compileRegularization(
    { l2: o.l2, decay: o.decay, decayParams: o.decayParams, decayMult: o.decayMult, widthMult: o.widthMult, optimizer: o.optimizer },
    { spec: model, trainCount, batch: o.batch, lr: o.lr, epochs: o.epochs });
  const optimizer: OptimizerConfig = {
    name: o.optimizer as OptimizerConfig['name'], schedule,
    momentum: o.momentum, dampening: o.dampening, b1: o.beta1, b2: o.beta2, eps: o.eps,
    ...(Object.keys(reg.lrScale).length > 0 ? { lrScale: reg.lrScale } : {}),
  };
  return {
    config: { model, optimizer, regularization: reg.terms, batchSize: o.batch, epochs: o.epochs, seed: o.seed },
    notes: reg.notes.map(withFlags),
  };
}

/** parseArch, with a hint when image layers meet flat (CSV) rows. */
function archFor(arch: string, shape: readonly number[], classes: number) {
  try {
    return parseArch(arch, shape, classes);
  } catch (e) {
    if (e instanceof ConfigError && shape.length === 1 && /needs a C×H×W input/.test(e.message)) {
      throw new ConfigError(`${e.message}
the data's rows are flat vectors of ${shape[0]}; for CSV images give --shape, e.g. --shape 1x28x28`);
    }
    throw e;
  }
}

/** Raw option strings as given, saved in the checkpoint so --resume needs no repetition. */
function storedOptions(raw: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(raw).filter(([k]) => !NOT_STORED.has(k)));
}

/**
 * The saved options, overridden by what this command line gives explicitly. Giving a
 * different value for an option that changes the computation is an error: the result would
 * match neither run.
 */
function mergeResumeOptions(cmd: Command, saved: Record<string, unknown>): Record<string, unknown> {
  const current = cmd.opts() as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...saved };
  for (const [key, value] of Object.entries(current)) {
    const explicit = cmd.getOptionValueSource(key) === 'cli';
    if (RESUMABLE.has(key)) {
      if (explicit || !(key in saved)) merged[key] = value;
    } else if (explicit && saved[key] !== undefined && !sameOption(saved[key], value)) {
      throw new ConfigError(`--resume: the run was started with --${kebab(key)} ${String(saved[key])}, this command gives ${String(value)}; drop the option or start a new run`);
    } else if (!(key in saved)) merged[key] = value;
  }
  return merged;
}

/** Equal as given, or as numbers ("0.050" and "0.05" are the same learning rate). */
function sameOption(a: unknown, b: unknown): boolean {
  if (String(a) === String(b)) return true;
  const x = Number(a), y = Number(b);
  return typeof a === 'string' && typeof b === 'string' && a.trim() !== '' && Number.isFinite(x) && x === y;
}

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function formatEpoch(m: EpochMetrics, epochs: number): string {
  const pct = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(2)}%`);
  return `epoch ${m.epoch}/${epochs}  loss ${m.total.toFixed(4)} (data ${m.data_loss.toFixed(4)} + penalty ${m.penalty.toFixed(4)})` +
    `  train ${pct(m.train_accuracy)}  val ${pct(m.val_accuracy)}${m.val_loss === null ? '' : ` (CE ${m.val_loss.toFixed(4)})`}` +
    `  lr ${m.lr.toPrecision(3)}  ${m.seconds.toFixed(1)}s`;
}
