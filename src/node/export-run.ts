/**
 * `export --run DIR --to pytorch|sklearn|keras`: what a script needs from a run directory,
 * computed with ridgeline's own code so the script trains on exactly the same rows in exactly the
 * same order: the validation split (dataset.ts) and each epoch's shuffle (trainer.ts) replayed
 * from the run's seed, written beside the script; the run's config, parameter groups and initial
 * weights. Node-only (it reads the run and the data, and writes the files).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { validationSplitRows } from '../data/dataset.js';
import { ConfigError, DataError } from '../errors.js';
import { parameterGroups } from '../format/export-plan.js';
import { kerasPlan, kerasScript } from '../format/keras-script.js';
import type { ScriptInput } from '../format/python-script.js';
import { pytorchScript, torchWeightDecay } from '../format/pytorch-script.js';
import { sklearnNotes, sklearnPlan, sklearnScript } from '../format/sklearn-script.js';
import { savedTerm } from '../regularization/plan.js';
import { nextEpochOrder, shuffleRng, type TrainConfig } from '../train/trainer.js';
import { loadIdxDirectory, resolveDataSource } from './datasets.js';
import { writeOutput } from './files.js';
import { INIT_MODEL_FILE, loadCheckpoint } from './run-dir.js';

export const SCRIPT_TARGETS = ['pytorch', 'sklearn', 'keras'] as const;
export type ScriptTarget = (typeof SCRIPT_TARGETS)[number];

export interface ScriptExport {
  script: string;
  rowsPath: string;
  steps: number;
}

interface Prepared {
  input: ScriptInput;
  /** The row order, written beside the script once the framework has accepted the run. */
  rows: Int32Array;
}

/** The run's config, its data and the row order for `maxSteps` steps (the run's own by default). */
async function prepare(runDir: string, out: string, to: ScriptTarget, maxSteps?: number): Promise<Prepared> {
  const { config: saved, path } = await loadCheckpoint(runDir);
  const { options, train: stored } = saved as { options: Record<string, unknown>; train: TrainConfig };
  // Runs saved before terms carried `scaling` have `scale`/`batch`: read either.
  const config: TrainConfig = { ...stored, regularization: stored.regularization.map(savedTerm) };
  const init = join(runDir, INIT_MODEL_FILE);
  if (!existsSync(init)) throw new DataError(`${runDir} has no ${INIT_MODEL_FILE} (runs write it since this version): train the run again to export it`);
  const data = options.data as string | undefined;
  if (data !== undefined && /\.csv(\.gz)?$/i.test(data)) throw new ConfigError(`export --to ${to} reads IDX data; ${path} trained on the CSV file ${data}`);
  const source = resolveDataSource(data);
  const { train } = await loadIdxDirectory(source.dir);
  const rows = validationSplitRows(train.count, Number(options.validation ?? 0.1), Number(options.seed ?? config.seed)).train;
  const N = rows.length, stepsPerEpoch = Math.ceil(N / config.batchSize);
  const total = config.epochs * stepsPerEpoch;
  const steps = Math.min(maxSteps ?? total, total);
  const epochs = Math.ceil(steps / stepsPerEpoch);
  const order = new Int32Array(N), all = new Int32Array(epochs * N);
  const rng = shuffleRng(config.seed);
  for (let e = 0; e < epochs; e++) {
    nextEpochOrder(rng, order);
    for (let k = 0; k < N; k++) all[e * N + k] = rows[order[k]];
  }
  const base = out.replace(/\.py$/, '');
  const o = config.optimizer;
  const notes = [
    `ridgeline run ${resolve(runDir)}: ${config.epochs} epochs of ${stepsPerEpoch} steps, B = ${config.batchSize}, seed ${config.seed}; this script runs ${steps} steps.`,
    `Optimizer ${o.name}; learning-rate schedule ${JSON.stringify(o.schedule)}.`,
  ];
  const input: ScriptInput = {
    config, dataDir: source.dir, initPath: resolve(init), rowsPath: resolve(`${base}.rows.i32`),
    trainRows: N, steps, outWeights: resolve(`${base}.weights.safetensors`), notes,
  };
  return { input, rows: all };
}

/** PyTorch's conversion notes: each parameter group's coefficients in PyTorch's knobs. */
function pytorchNotes(config: TrainConfig): string[] {
  const o = config.optimizer;
  return [
    'Regularization, per parameter group (ridgeline → PyTorch):',
    ...parameterGroups(config).map((g) => `  ${g.names.join(', ')}: ${[
      g.lambdaE ? `coupled λ_E = ${g.lambdaE} → weight_decay = 2·λ_E = ${torchWeightDecay(g.lambdaE, config)}${o.name === 'adamw' ? ' (added to the gradient by hand: AdamW\'s weight_decay is decoupled)' : ''}` : '',
      g.decoupled ? `decoupled c = ${g.decoupled} (δ_t = η_t·c) → ${o.name === 'adamw' ? `AdamW weight_decay = ${g.decoupled}` : 'w·(1 − η_t·c) by hand before each step'}` : '',
      g.step ? `step decay δ = ${g.step} → w·(1 − δ) by hand before each step` : '',
      g.lrScale !== 1 ? `learning rate ×${g.lrScale}` : '',
    ].filter(Boolean).join('; ') || 'not decayed'}`),
    ...config.regularization.filter((t) => t.scaling?.per === 'batch').map((t) => `${t.given} divides by each batch's own size; PyTorch's weight_decay cannot, so the last (partial) batch of each epoch gets the nominal batch's coefficient here.`),
    ...(config.model.layers.some((l) => l.type === 'dropout') ? ['Dropout masks come from PyTorch\'s RNG, not ridgeline\'s: with dropout the two runs are equal in distribution, not step for step.'] : []),
    'The data term is CrossEntropyLoss (mean), as ridgeline\'s seed objective; float32 throughout, so weights agree to about 1e-5 relative.',
  ];
}

/** The script for one framework (a ConfigError when the framework cannot express the run). */
function emit(to: ScriptTarget, input: ScriptInput): string {
  const { config } = input;
  switch (to) {
    case 'pytorch':
      return pytorchScript({ ...input, notes: [...input.notes, ...pytorchNotes(config)], groups: parameterGroups(config) });
    case 'sklearn': {
      const plan = sklearnPlan(config, input.trainRows, input.steps);
      return sklearnScript({ ...input, notes: [...input.notes, ...sklearnNotes(plan)] }, plan);
    }
    case 'keras': {
      const plan = kerasPlan(config);
      return kerasScript({ ...input, notes: [...input.notes, ...plan.notes] }, plan);
    }
  }
}

export async function exportScript(runDir: string, out: string, to: ScriptTarget, maxSteps?: number): Promise<ScriptExport> {
  const { input, rows } = await prepare(runDir, out, to, maxSteps);
  const script = emit(to, input);
  await writeOutput(input.rowsPath, new Uint8Array(rows.buffer));
  await writeOutput(out, script);
  return { script, rowsPath: input.rowsPath, steps: input.steps };
}
