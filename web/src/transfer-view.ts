/**
 * Does it transfer? A small study in the page: the λ grid × 3 widths (or 3 batch sizes) × 2
 * seeds on the embedded sample, run by the study's own code (expandTrials with its refinement
 * passes, runTrial) in one worker per core, and analyzed by the study's analysis as results
 * land: validation CE against λ_E per scale with the optimum marked, then the optimum per
 * convention against scale (the report's plots), and the plain answer.
 */
import { parseStudyConfig, type StudyConfig } from '../../src/study/config.js';
import { preset } from '../../src/study/presets.js';
import { analyzeStudy, type AxisAnalysis } from '../../src/study/analysis.js';
import { expandTrials, type StudyDataInfo, type Trial } from '../../src/study/trials.js';
import type { TrialResult } from '../../src/study/run-trial.js';
import { answerFor } from '../../src/report/answer.js';
import { curvePlot, movementPlot } from '../../src/report/plots.js';
import { field, h, numberInput, segments, select, svgFigure } from './dom.js';
import type { Reply, Request } from './protocol.js';
import { publish } from './publish.js';

/** The scales each axis sweeps: P grows 4× across the widths, B 4× across the batches. */
const AXES = {
  width: { label: 'width: MLP 784-w-10, w = 32, 64, 128', values: [32, 64, 128] },
  batch: { label: 'batch size: B = 32, 64, 128 (MLP 784-64-10)', values: [32, 64, 128] },
} as const;
type AxisChoice = keyof typeof AXES;

/**
 * Few rows, many epochs: on 1000 images the penalty decides (on the sample's 3500 for 15 epochs
 * the validation CE is flat below λ_E = 1e-3 and the optimum cannot be located), and the study
 * stays short. 1000 validation rows keep the CE's noise below the curves' depth.
 */
const TRAIN_ROWS = 1000, VALIDATION_ROWS = 1000, EPOCHS = 30;

const INFO: StudyDataInfo = { label: 'embedded Fashion-MNIST sample', classes: 10 };

/**
 * The embedded regime's default study (src/study/presets.ts: the λ_E grid from 1e-5 to 1e-2 and
 * its refinement passes, cosine schedule, momentum 0.9, batch 64, seeds 1 and 2) on 1000 rows
 * per seed, with 3 scale values.
 */
export function miniStudy(axis: AxisChoice, epochs: number): StudyConfig {
  const base = preset('default', false)[0];
  return parseStudyConfig({
    ...base, name: `playground-${axis}`, axis, values: [...AXES[axis].values],
    budget: { epochs },
    base: { ...base.base, trainSize: TRAIN_ROWS, validation: VALIDATION_ROWS, ...(axis === 'batch' ? { hidden: [64] } : {}) },
  }, 'playground study');
}

export interface StudyRun {
  state: 'idle' | 'running' | 'done' | 'error';
  config?: StudyConfig;
  trials: number;
  done: number;
  seconds: number;
  workers: number;
  /** The finished trials, and their analysis. */
  results: TrialResult[];
  analysis?: AxisAnalysis | null;
  error?: string;
}

export function transferView(root: HTMLElement): void {
  const axis = select('st-axis', Object.entries(AXES).map(([k, v]) => [k, v.label] as [string, string]), 'width');
  const epochs = numberInput('st-epochs', EPOCHS, { min: 1, max: 50, step: 1 });
  const form = h('form', { class: 'controls' }, field('scale axis', axis, 'wide'), field('epochs per trial', epochs));
  form.addEventListener('submit', (e) => e.preventDefault());
  const run = h('button', { type: 'button', id: 'st-run' }, 'Run the study');
  const stop = h('button', { type: 'button', id: 'st-stop', class: 'secondary', disabled: true }, 'Stop');
  const progress = h('progress', { id: 'st-progress', max: 1, value: 0, 'aria-label': 'trials finished' });
  const status = h('p', { class: 'status', id: 'st-status', 'aria-live': 'polite' }, '');
  const answer = h('div', { class: 'answer', id: 'st-answer' });
  const plots = h('div', { class: 'plots', id: 'st-plots' });
  root.append(
    h('h2', {}, 'Does the best λ transfer? A study on your screen'),
    h('p', { class: 'note' }, 'Every trial trains one model at one (scale, λ_E, seed) on the embedded sample, as ', h('code', {}, 'ridgeline study'),
      ' does: a grid of λ_E, a second pass around each minimum, two seeds that each draw their own training rows. ',
      'The optimum is then expressed in every convention: if the penalty should not depend on the number of weights, λ_E stays put and the per-weight coefficient λ_E·P climbs with the width. ',
      'With two seeds the 95% intervals use Student\'s t with one degree of freedom (12.7 standard errors), so the verdict here is rarely decided; the plots show the movement, and The evidence has the six-seed studies on all of Fashion-MNIST.'),
    form, h('div', { class: 'buttons' }, run, stop, progress), status, answer, plots);

  const state: StudyRun = { state: 'idle', trials: 0, done: 0, seconds: 0, workers: 0, results: [] };
  publish('transfer', state);
  let cancel: (() => void) | undefined;
  const draw = (a: AxisAnalysis | null) => {
    state.analysis = a;
    if (!a) return;
    answer.replaceChildren(...answerFor(a).paragraphs.map(segments));
    const movement = movementPlot(a);
    plots.replaceChildren(svgFigure(curvePlot(a, 'metric'), 'curves'), ...(movement ? [svgFigure(movement, 'movement')] : []));
  };

  run.addEventListener('click', () => {
    const config = miniStudy(axis.value as AxisChoice, Number(epochs.value));
    Object.assign(state, { state: 'running', config, trials: 0, done: 0, seconds: 0, results: [], analysis: undefined, error: undefined });
    root.dataset.state = 'running';
    run.disabled = true;
    stop.disabled = false;
    answer.replaceChildren();
    plots.replaceChildren();
    status.className = 'status';
    const started = performance.now();
    const study = runStudy(config, (results, trials) => {
      state.results = results;
      state.done = results.length;
      state.trials = trials;
      state.seconds = (performance.now() - started) / 1000;
      progress.value = results.length / Math.max(trials, 1);
      status.textContent = `${results.length} of ${trials} trials so far (refinement adds more), ${state.seconds.toFixed(0)} s on ${state.workers} worker${state.workers === 1 ? '' : 's'}`;
      draw(results.length ? analyzeStudy(config.name, results, config.metric) : null);
    });
    state.workers = study.workers;
    cancel = study.cancel;
    study.done.then(
      (results) => {
        state.state = 'done';
        status.textContent = `${results.length} trials in ${state.seconds.toFixed(1)} s on ${state.workers} worker${state.workers === 1 ? '' : 's'}.`;
      },
      (e: unknown) => {
        state.state = 'error';
        state.error = (e as Error).message;
        status.textContent = `Stopped: ${(e as Error).message}`;
        status.className = 'status error';
      },
    ).finally(() => {
      root.dataset.state = state.state;
      run.disabled = false;
      stop.disabled = true;
    });
  });
  stop.addEventListener('click', () => cancel?.());
}

/**
 * Runs every trial the study asks for, refinement passes included (expandTrials grows the list
 * as results arrive), on one worker per core; `onResult` hears of each finished trial.
 */
function runStudy(config: StudyConfig, onResult: (results: TrialResult[], trials: number) => void): { done: Promise<TrialResult[]>; cancel: () => void; workers: number } {
  const count = Math.max(1, Math.min(2, navigator.hardwareConcurrency || 1));
  const workers = Array.from({ length: count }, () => new Worker(new URL('./train-worker.ts', import.meta.url), { type: 'module' }));
  const results: TrialResult[] = [];
  const finished = new Set<string>(), inFlight = new Set<string>();
  let cancelled: Error | null = null;
  let wake: (() => void)[] = [];
  const changed = () => new Promise<void>((r) => wake.push(r));
  const notify = () => { const w = wake; wake = []; w.forEach((f) => f()); };
  const next = (): Trial | undefined => expandTrials(config, INFO, results).find((t) => !finished.has(t.id) && !inFlight.has(t.id));
  const runOn = (worker: Worker, trial: Trial) => new Promise<TrialResult>((resolve, reject) => {
    const settle = (f: () => void) => {
      worker.removeEventListener('message', onMessage);
      worker.removeEventListener('error', onError);
      f();
    };
    const onMessage = (e: MessageEvent<Reply>) => {
      const m = e.data;
      if (m.type === 'trial-done') settle(() => resolve(m.result));
      else if (m.type === 'error') settle(() => reject(new Error(m.message)));
    };
    const onError = (e: ErrorEvent) => settle(() => reject(new Error(e.message || 'a study worker failed')));
    worker.addEventListener('message', onMessage);
    worker.addEventListener('error', onError);
    worker.postMessage({ type: 'trial', trial, validation: config.base.validation } satisfies Request);
  });
  const loop = async (worker: Worker) => {
    for (;;) {
      if (cancelled) throw cancelled;
      const trial = next();
      if (!trial) {
        if (inFlight.size === 0) return;
        await changed();
        continue;
      }
      inFlight.add(trial.id);
      const result = await runOn(worker, trial);
      inFlight.delete(trial.id);
      finished.add(trial.id);
      results.push(result);
      onResult(results, expandTrials(config, INFO, results).length);
      notify();
    }
  };
  const done = Promise.all(workers.map(loop)).then(() => results).finally(() => workers.forEach((w) => w.terminate()));
  return {
    done, workers: count,
    cancel: () => { cancelled = new Error('stopped by the user'); workers.forEach((w) => w.terminate()); notify(); },
  };
}
