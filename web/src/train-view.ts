/**
 * Train live: the embedded Fashion-MNIST sample, an MLP of the chosen width and depth, trained
 * in a worker (train-worker.ts) on the wasm backend, with the data loss, the penalty, the
 * accuracies and ‖w‖ per layer drawn after every epoch. The finished run is published on
 * `window.__ridgelinePlayground.train` (its config, history and weights) for the browser test.
 */
import { CONVENTIONS } from '../../src/regularization/conventions.js';
import { OPTIMIZERS, type OptimizerName } from '../../src/optim/recipes.js';
import type { EpochMetrics, TrainConfig } from '../../src/train/trainer.js';
import { maxThreads } from './backend.js';
import { field, h, numberInput, select, svgFigure } from './dom.js';
import { accuracyPlot, lossPlot, normPlot, type EpochPoint } from './live-plots.js';
import type { Reply, Request, StartInfo } from './protocol.js';
import { DEFAULT_RUN, type RunOptions } from './run-config.js';
import { publish } from './publish.js';

export interface LiveRun {
  state: 'idle' | 'starting' | 'running' | 'paused' | 'done' | 'error';
  options?: RunOptions;
  threads?: number;
  config?: TrainConfig;
  backend?: string;
  history: EpochMetrics[];
  /** Seconds from the worker's start of the run (backend and data ready) to each epoch's end. */
  elapsed: number[];
  /** Seconds to load the backend and the data before the first step. */
  setupSeconds?: number;
  weights?: Record<string, Float32Array>;
  error?: string;
}

export function trainView(root: HTMLElement): void {
  const d = DEFAULT_RUN;
  const width = numberInput('tr-width', d.hidden[0], { min: 1, max: 4096, step: 1 });
  const depth = numberInput('tr-depth', d.hidden.length, { min: 1, max: 8, step: 1 });
  const batchNorm = h('input', { id: 'tr-bn', type: 'checkbox' });
  const batch = numberInput('tr-batch', d.batch, { min: 1, step: 1 });
  const optimizer = select('tr-optimizer', OPTIMIZERS, d.optimizer);
  const lr = numberInput('tr-lr', d.lr, { min: 0 });
  const momentum = numberInput('tr-momentum', d.momentum, { min: 0, max: 0.999 });
  const convention = select('tr-convention', CONVENTIONS.map((c) => [c.id, `${c.id}:${c.param}`] as [string, string]), d.convention);
  const coefficient = numberInput('tr-coefficient', d.coefficient, { min: 0 });
  const epochs = numberInput('tr-epochs', d.epochs, { min: 1, max: 200, step: 1 });
  const seed = numberInput('tr-seed', d.seed, { min: 0, step: 1 });
  const threads = select('tr-threads', Array.from({ length: maxThreads() }, (_, i) => String(i + 1)), String(maxThreads()));
  const form = h('form', { class: 'controls', id: 'tr-form' },
    field('hidden width', width), field('hidden layers (depth)', depth), field('batch size B', batch), field('optimizer', optimizer),
    field('learning rate η', lr), field('momentum μ', momentum), field('λ convention', convention), field('coefficient', coefficient),
    field('epochs', epochs), field('seed', seed), field('wasm threads', threads), field('batch normalization', batchNorm));
  const start = h('button', { type: 'button', id: 'tr-start' }, 'Start');
  const pause = h('button', { type: 'button', id: 'tr-pause', class: 'secondary', disabled: true }, 'Pause');
  const reset = h('button', { type: 'button', id: 'tr-reset', class: 'secondary' }, 'Reset');
  const progress = h('progress', { id: 'tr-progress', max: 1, value: 0, 'aria-label': 'progress of the run' });
  const status = h('p', { class: 'status', id: 'tr-status', 'aria-live': 'polite' }, 'Ready.');
  const summary = h('pre', { class: 'summary', id: 'tr-summary' });
  const plots = h('div', { class: 'plots', id: 'tr-plots' });
  root.append(
    h('h2', {}, 'Train live on Fashion-MNIST'),
    h('p', { class: 'note' }, 'The sample shipped with ridgeline (4000 training images, 10% held out for validation), an MLP with ReLU, ',
      'a constant learning rate, the coefficient in any convention (applied as ', h('code', {}, 'ridgeline train --l2/--decay'), ' would). ',
      'Training runs in a Web Worker; Pause takes effect at the end of the current epoch.'),
    form, h('div', { class: 'buttons' }, start, pause, reset, progress), status, summary, plots);

  let worker: Worker | undefined;
  let points: EpochPoint[] = [];
  const run: LiveRun = { state: 'idle', history: [], elapsed: [] };
  publish('train', run);

  const drawPlots = () => plots.replaceChildren(svgFigure(lossPlot(points), 'loss'), svgFigure(accuracyPlot(points), 'accuracy'), svgFigure(normPlot(points), 'norms'));
  const setState = (state: LiveRun['state']) => {
    run.state = state;
    root.dataset.state = state;
    start.disabled = state === 'starting' || state === 'running' || state === 'paused';
    pause.disabled = !(state === 'running' || state === 'paused');
    pause.textContent = state === 'paused' ? 'Resume' : 'Pause';
    form.querySelectorAll('input, select').forEach((e) => { (e as HTMLInputElement).disabled = start.disabled; });
    if (!start.disabled) momentum.disabled = !(optimizer.value === 'momentum' || optimizer.value === 'nesterov');
  };
  const options = (): RunOptions => ({
    hidden: Array.from({ length: Number(depth.value) }, () => Number(width.value)), batchNorm: batchNorm.checked,
    batch: Number(batch.value), optimizer: optimizer.value as OptimizerName, lr: Number(lr.value), momentum: Number(momentum.value),
    convention: convention.value, coefficient: Number(coefficient.value), epochs: Number(epochs.value), seed: Number(seed.value),
    validation: d.validation,
  });
  const onReply = (m: Reply, o: RunOptions) => {
    switch (m.type) {
      case 'start': describe(m.info); run.config = m.info.config; run.backend = m.info.backend; run.setupSeconds = m.info.setupSeconds; setState('running'); break;
      case 'progress': progress.value = (m.epoch - 1 + m.step / m.stepsPerEpoch) / o.epochs; break;
      case 'epoch': {
        points.push({ metrics: m.metrics, norms: m.norms });
        run.history.push(m.metrics);
        run.elapsed.push(m.elapsed);
        progress.value = m.metrics.epoch / o.epochs;
        const rate = (m.metrics.step * (run.config?.batchSize ?? 0)) / m.elapsed; // ≈: a last batch may be smaller, and validation is in the time
        status.textContent = `epoch ${m.metrics.epoch}/${o.epochs}: data loss ${m.metrics.data_loss.toFixed(4)} + penalty ${m.metrics.penalty.toFixed(4)}, ` +
          `train ${(100 * m.metrics.train_accuracy).toFixed(2)}%, validation ${(100 * (m.metrics.val_accuracy ?? NaN)).toFixed(2)}% (CE ${(m.metrics.val_loss ?? NaN).toFixed(4)}); ` +
          `${m.elapsed.toFixed(1)} s, ≈ ${Math.round(rate)} samples/s${run.elapsed.length >= 10 ? `; 10 epochs in ${run.elapsed[9].toFixed(1)} s` : ''}`;
        drawPlots();
        break;
      }
      case 'paused': setState('paused'); break;
      case 'done':
        run.weights = Object.fromEntries(m.weights.map((w) => [w.name, w.values]));
        setState('done');
        status.textContent += ' — done.';
        break;
      case 'error': run.error = m.message; setState('error'); status.textContent = `Error: ${m.message}`; status.className = 'status error'; break;
      default: break;
    }
  };
  const describe = (info: StartInfo) => {
    summary.textContent = [
      `backend: ${info.backend}; data: ${info.trainCount} train, ${info.validationCount} validation rows; model: ${info.parameters} parameters`,
      `optimizer: chain [${info.chain.join(' → ')}], ${info.stepsPerEpoch} steps/epoch`,
      ...info.notes.map((n) => `note: ${n}`),
      info.summary,
    ].join('\n');
  };
  const stopWorker = () => { worker?.terminate(); worker = undefined; };

  start.addEventListener('click', () => {
    stopWorker();
    const o = options();
    Object.assign(run, { state: 'starting', options: o, threads: Number(threads.value), config: undefined, history: [], elapsed: [], weights: undefined, error: undefined });
    points = [];
    status.className = 'status';
    status.textContent = 'Loading the backend and the data…';
    summary.textContent = '';
    drawPlots();
    setState('starting');
    worker = new Worker(new URL('./train-worker.ts', import.meta.url), { type: 'module' });
    worker.addEventListener('message', (e: MessageEvent<Reply>) => onReply(e.data, o));
    worker.addEventListener('error', (e) => onReply({ type: 'error', message: e.message || 'the training worker failed to start' }, o));
    const req: Request = { type: 'train', options: o, threads: Number(threads.value) };
    worker.postMessage(req);
  });
  pause.addEventListener('click', () => {
    if (run.state === 'paused') { worker?.postMessage({ type: 'resume' } satisfies Request); setState('running'); }
    else worker?.postMessage({ type: 'pause' } satisfies Request);
  });
  reset.addEventListener('click', () => {
    stopWorker();
    points = [];
    Object.assign(run, { state: 'idle', history: [], elapsed: [], weights: undefined, config: undefined, error: undefined });
    progress.value = 0;
    status.className = 'status';
    status.textContent = 'Ready.';
    summary.textContent = '';
    drawPlots();
    setState('idle');
  });
  optimizer.addEventListener('change', () => setState(run.state));
  drawPlots();
  setState('idle');
}
