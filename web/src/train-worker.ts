/**
 * A training worker: live runs (epoch by epoch, pausable between epochs) and the mini-study's
 * trials (src/study/run-trial.ts, as `ridgeline study` runs them). Training here keeps the
 * page responsive; the wasm backend comes from backend.ts.
 */
import { splitValidation } from '../../src/data/dataset.js';
import { squaredNorm } from '../../src/regularization/penalty.js';
import { formatSummary } from '../../src/regularization/summary.js';
import { runTrial } from '../../src/study/run-trial.js';
import { isWeightKind } from '../../src/tensor/param.js';
import { Trainer } from '../../src/train/trainer.js';
import { loadBackend, type LoadedBackend } from './backend.js';
import { loadSample } from './data.js';
import type { Reply, Request } from './protocol.js';
import { runConfig } from './run-config.js';

const post = (m: Reply, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

let loaded: LoadedBackend | undefined;
async function backendFor(threads: number): Promise<LoadedBackend> {
  if (loaded?.threads !== threads) {
    loaded?.dispose();
    loaded = await loadBackend(threads);
  }
  return loaded;
}

/** Pause holds the live run between epochs. */
let paused = false;
let wake: (() => void) | null = null;
const resumed = () => new Promise<void>((r) => { wake = r; });

async function train(req: Extract<Request, { type: 'train' }>): Promise<void> {
  paused = false;
  const setupStarted = performance.now();
  const { backend, label } = await backendFor(req.threads);
  const sample = await loadSample();
  const o = req.options;
  const { train, validation } = splitValidation(sample.train, o.validation, o.seed);
  const { config, notes } = runConfig(o, train.shape, train.classes, train.count);
  const trainer = new Trainer(config, backend, train, validation);
  const started = performance.now();
  const momentum = o.optimizer === 'momentum' || o.optimizer === 'nesterov' ? o.momentum : undefined;
  post({
    type: 'start', info: {
      backend: label, config, notes, parameters: trainer.model.paramCount, trainCount: train.count, validationCount: validation.count,
      stepsPerEpoch: trainer.stepsPerEpoch, chain: trainer.chainNames(),
      summary: formatSummary(trainer.regularizationSummary(), trainer.stepsPerEpoch, momentum),
      setupSeconds: (started - setupStarted) / 1000,
    },
  });
  const weights = trainer.model.params.filter((p) => isWeightKind(p.kind));
  let lastProgress = 0;
  while (trainer.epoch < config.epochs) {
    const metrics = await trainer.runEpoch({
      onStep: (step, stepsPerEpoch) => {
        const t = performance.now();
        if (t - lastProgress > 100) { lastProgress = t; post({ type: 'progress', epoch: trainer.epoch + 1, step, stepsPerEpoch }); }
      },
    });
    const norms = weights.map((p) => ({ name: p.name, norm: Math.sqrt(squaredNorm([p], backend)) }));
    post({ type: 'epoch', metrics: metrics!, norms, elapsed: (performance.now() - started) / 1000 });
    if (paused && trainer.epoch < config.epochs) {
      post({ type: 'paused' });
      await resumed();
    }
  }
  const values = trainer.model.params.map((p) => ({ name: p.name, values: p.value.slice() }));
  post({ type: 'done', weights: values, elapsed: (performance.now() - started) / 1000 }, values.map((v) => v.values.buffer));
}

async function trial(req: Extract<Request, { type: 'trial' }>): Promise<void> {
  const { backend, label } = await backendFor(1);
  const data = await studyData(req.validation);
  post({ type: 'trial-done', result: await runTrial(req.trial, data, backend), backend: label });
}

/** The study's pool and validation rows: a fixed split of the sample's training set (seed 0), the same in every worker. */
let split: { validation: number; data: Awaited<ReturnType<typeof makeStudyData>> } | undefined;
async function makeStudyData(validation: number) {
  const sample = await loadSample();
  const { train, validation: held } = splitValidation(sample.train, validation, 0);
  return { train, validation: held, test: null };
}
async function studyData(validation: number) {
  if (split?.validation !== validation) split = { validation, data: await makeStudyData(validation) };
  return split.data;
}

self.addEventListener('message', (e: MessageEvent<Request>) => {
  const req = e.data;
  const fail = (err: unknown) => post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  switch (req.type) {
    case 'train': train(req).catch(fail); break;
    case 'trial': trial(req).catch(fail); break;
    case 'pause': paused = true; break;
    case 'resume': paused = false; wake?.(); wake = null; break;
  }
});
