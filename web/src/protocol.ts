/** Messages between the page and a training worker (train-worker.ts). */
import type { Trial } from '../../src/study/trials.js';
import type { TrialResult } from '../../src/study/run-trial.js';
import type { EpochMetrics, TrainConfig } from '../../src/train/trainer.js';
import type { RunOptions } from './run-config.js';

export type Request =
  | { type: 'train'; options: RunOptions; threads: number }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
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
  | { type: 'done'; weights: { name: string; values: Float32Array }[]; elapsed: number; stopped: boolean }
  | { type: 'trial-done'; result: TrialResult; backend: string }
  | { type: 'error'; message: string };
