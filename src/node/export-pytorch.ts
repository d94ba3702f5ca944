/**
 * `export --run DIR --to pytorch`: what the script needs from a run directory, computed with
 * ridgeline's own code so the script trains on exactly the same rows in exactly the same order:
 * the validation split (dataset.ts) and each epoch's shuffle (trainer.ts) replayed from the
 * run's seed, the parameter groups from the run's regularization terms, and the conversion notes.
 * Node-only (it reads the run and the data, and writes the row order beside the script).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { validationSplitRows } from '../data/dataset.js';
import { ConfigError, DataError } from '../errors.js';
import { pytorchScript, type ParamGroup } from '../format/pytorch-script.js';
import { paramShapes } from '../nn/spec.js';
import { decayMask } from '../regularization/mask.js';
import { coefficientFor, savedTerm } from '../regularization/plan.js';
import { nextEpochOrder, shuffleRng, type TrainConfig } from '../train/trainer.js';
import { loadIdxDirectory, resolveDataSource } from './datasets.js';
import { writeOutput } from './files.js';
import { INIT_MODEL_FILE, loadCheckpoint } from './run-dir.js';

export interface PytorchExport {
  script: string;
  rowsPath: string;
  steps: number;
}

/** Parameters with the same coefficients and learning-rate multiplier, as PyTorch parameter groups. */
export function parameterGroups(config: TrainConfig): ParamGroup[] {
  const groups = new Map<string, ParamGroup>();
  for (const p of paramShapes(config.model)) {
    const param = { ...p, value: { length: p.shape.reduce((a, b) => a * b, 1) } };
    let lambdaE = 0, decoupled = 0, step = 0;
    for (const t of config.regularization) {
      if (!decayMask(t.decayParams)(param)) continue;
      const v = coefficientFor(t, param, config.batchSize);
      if (t.kind === 'coupled') lambdaE += v; else if (t.kind === 'decoupled') decoupled += v; else step += v;
    }
    const lrScale = config.optimizer.lrScale?.[p.name] ?? 1;
    const key = `${lambdaE}|${decoupled}|${step}|${lrScale}`;
    const g = groups.get(key) ?? { names: [], lambdaE, decoupled, step, lrScale };
    g.names.push(p.name);
    groups.set(key, g);
  }
  return [...groups.values()];
}

export async function exportPytorch(runDir: string, out: string, maxSteps?: number): Promise<PytorchExport> {
  const { config: saved, path } = await loadCheckpoint(runDir);
  const { options, train: stored } = saved as { options: Record<string, unknown>; train: TrainConfig };
  // Runs saved before terms carried `scaling` have `scale`/`batch`: read either.
  const config: TrainConfig = { ...stored, regularization: stored.regularization.map(savedTerm) };
  const init = join(runDir, INIT_MODEL_FILE);
  if (!existsSync(init)) throw new DataError(`${runDir} has no ${INIT_MODEL_FILE} (runs write it since this version): train the run again to export it`);
  const data = options.data as string | undefined;
  if (data !== undefined && /\.csv(\.gz)?$/i.test(data)) throw new ConfigError(`export --to pytorch reads IDX data; ${path} trained on the CSV file ${data}`);
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
  const rowsPath = `${base}.rows.i32`;
  await writeOutput(rowsPath, new Uint8Array(all.buffer));
  const groups = parameterGroups(config);
  const o = config.optimizer;
  const notes = [
    `ridgeline run ${resolve(runDir)}: ${config.epochs} epochs of ${stepsPerEpoch} steps, B = ${config.batchSize}, seed ${config.seed}; this script runs ${steps} steps.`,
    `Optimizer ${o.name}; learning-rate schedule ${JSON.stringify(o.schedule)}.`,
    'Regularization, per parameter group (ridgeline → PyTorch):',
    ...groups.map((g) => `  ${g.names.join(', ')}: ${[
      g.lambdaE ? `coupled λ_E = ${g.lambdaE} → weight_decay = 2·λ_E = ${2 * g.lambdaE}${o.name === 'adamw' ? ' (added to the gradient by hand: AdamW\'s weight_decay is decoupled)' : ''}` : '',
      g.decoupled ? `decoupled c = ${g.decoupled} (δ_t = η_t·c) → ${o.name === 'adamw' ? `AdamW weight_decay = ${g.decoupled}` : 'w·(1 − η_t·c) by hand before each step'}` : '',
      g.step ? `step decay δ = ${g.step} → w·(1 − δ) by hand before each step` : '',
      g.lrScale !== 1 ? `learning rate ×${g.lrScale}` : '',
    ].filter(Boolean).join('; ') || 'not decayed'}`),
    ...config.regularization.filter((t) => t.scaling?.per === 'batch').map((t) => `${t.given} divides by each batch's own size; PyTorch's weight_decay cannot, so the last (partial) batch of each epoch gets the nominal batch's coefficient here.`),
    ...(config.model.layers.some((l) => l.type === 'dropout') ? ['Dropout masks come from PyTorch\'s RNG, not ridgeline\'s: with dropout the two runs are equal in distribution, not step for step.'] : []),
    'The data term is CrossEntropyLoss (mean), as ridgeline\'s seed objective; float32 throughout, so weights agree to about 1e-5 relative.',
  ];
  const script = pytorchScript({
    config, groups, dataDir: source.dir, initPath: resolve(init), rowsPath: resolve(rowsPath),
    trainRows: N, steps, outWeights: resolve(`${base}.weights.safetensors`), notes,
  });
  await writeOutput(out, script);
  return { script, rowsPath, steps };
}
