/** Messages between the page and a training worker (train-worker.ts). A live run is ended by terminating its worker. */
import type { Trial } from '../../src/study/trials.js';
import type { TrialResult } from '../../src/study/run-trial.js';
import type { EpochMetrics, TrainConfig } from '../../src/train/trainer.js';
import type { RunOptions } from './run-config.js';

export type Request =
  | { type: 'train'; options: RunOptions; threads: number }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'trial'; trial: Trial; validation: number };

export interface StartInfo {
  backend: string;
  config: TrainConfig;
  notes: string[];
  parameters: number;
  trainCount: number;
  validationCount: number;
  stepsPerEpoch: number;
  /** The transform chain in application order. */
  chain: string[];
  /** The regularization per parameter group, as `ridgeline train` prints it. */
  summary: string;
  /** Seconds to load the backend and the data (the first run in a worker) and build the model. */
  setupSeconds: number;
}

export interface LayerNorm {
  name: string;
  norm: number;
}

export type Reply =
  | { type: 'start'; info: StartInfo }
  | { type: 'progress'; epoch: number; step: number; stepsPerEpoch: number }
  | { type: 'epoch'; metrics: EpochMetrics; norms: LayerNorm[]; elapsed: number }
  | { type: 'paused' }
  | { type: 'done'; weights: { name: string; values: Float32Array }[]; elapsed: number }
  | { type: 'trial-done'; result: TrialResult; backend: string }
  | { type: 'error'; message: string };
