/**
 * From a study config to its trials: every (axis value, coefficient, seed), each a complete,
 * self-describing training config whose id is a hash of that config. Ids make reruns skip
 * finished trials and merges deduplicate; shards are deterministic slices by id.
 *
 * The coefficients at a scale come in passes (refine.ts): the coarse grid first, then, once
 * every seed of it has finished, points beyond an edge that holds the minimum and half-octave
 * points around it. So the trial list grows as results arrive: pass the results in.
 */
import { ConfigError } from '../errors.js';
import { logGrid, tppValue, type StudyConfig } from './config.js';
import { trialModel } from './model.js';
import { coefficientsAt } from './refine.js';
import type { TrialResult } from './run-trial.js';

/** The trial format of the second edition; first-edition records are read by records.ts. */
export const TRIAL_EDITION = 2;

export interface Trial {
  /**
   * 16 hex digits, a hash of every other field. The study name is part of it: two studies
   * (say the width and the batch presets) share their base point, and each needs its own.
   */
  id: string;
  study: string;
  /** 2 for every trial this code makes; 1 for first-edition records read back (records.ts). */
  edition: 1 | typeof TRIAL_EDITION;
  axis: StudyConfig['axis'];
  /** The axis value this trial sits at. */
  value: number | string;
  seed: number;
  /** 'coupled': the seed objective's λ_E; 'decoupled': AdamW's c (muP-AdamW's when mupWidthMult is set). */
  kind: 'coupled' | 'decoupled';
  coefficient: number;
  /** The network, in `train --arch` grammar. */
  arch: string;
  optimizer: StudyConfig['base']['optimizer'];
  /** Peak learning rate. */
  lr: number;
  momentum: number;
  schedule: 'constant' | 'cosine';
  batch: number;
  /**
   * Training rows, drawn from the pool by the seed (the first trainSize of a permutation the
   * seed decides; so the sets of one seed are nested along N); 0 = the whole pool.
   */
  trainSize: number;
  validation: number;
  epochs?: number;
  steps?: number;
  /** Names the data, so the same config on other data is another trial. */
  data: string;
  /** muP-AdamW's width multiplier m (hidden matrices get lr/m and decay ×m). */
  mupWidthMult?: number;
}

export interface StudyDataInfo {
  /** The data's name (`fashion-mnist`, a path). */
  label: string;
  classes: number;
}

/** Every trial of a study that can run now, given the results so far (refinement passes need them). */
export function expandTrials(c: StudyConfig, data: StudyDataInfo, results: readonly TrialResult[] = []): Trial[] {
  const trials: Trial[] = [];
  const mine = results.filter((r) => r.trial.study === c.name);
  for (const value of c.values) {
    const t = settingsAt(c, value, data.classes);
    // AdamW sweeps its decoupled c; every other optimizer the seed objective's λ_E.
    const kind: Trial['kind'] = t.optimizer === 'adamw' ? 'decoupled' : 'coupled';
    const make = (coefficient: number, seed: number): Trial => {
      const body: Omit<Trial, 'id' | 'study'> = {
        edition: TRIAL_EDITION, axis: c.axis, value, seed, kind, coefficient, ...t,
        ...(t.epochs === undefined && t.steps === undefined ? budgetOf(c) : {}), data: data.label,
      };
      return { id: trialId({ study: c.name, ...body }), study: c.name, ...body };
    };
    const here = new Map<string, TrialResult>();
    for (const r of mine) if (String(r.trial.value) === String(value)) here.set(r.id, r);
    const coarse = logGrid(kind === 'decoupled' ? c.decay : c.lambda);
    const coefficients = coefficientsAt(coarse, c.refine, c.metric, c.seeds, (coefficient, seed) => here.get(make(coefficient, seed).id));
    for (const coefficient of coefficients) for (const seed of c.seeds) trials.push(make(coefficient, seed));
  }
  return trials;
}

function budgetOf(c: StudyConfig): Pick<Trial, 'epochs' | 'steps'> {
  return c.budget.epochs !== undefined ? { epochs: c.budget.epochs } : { steps: c.budget.steps };
}

type Settings = Pick<Trial, 'arch' | 'optimizer' | 'lr' | 'momentum' | 'schedule' | 'batch' | 'trainSize' | 'validation' | 'epochs' | 'steps' | 'mupWidthMult'>;

/** The base settings with the axis applied at `value`. */
export function settingsAt(c: StudyConfig, value: number | string, classes: number): Settings {
  const b = c.base;
  const model = trialModel(b, c.axis, value, classes);
  const s: Settings = {
    arch: model.arch, optimizer: b.optimizer, lr: b.lr, momentum: b.momentum, schedule: b.schedule,
    batch: b.batch, trainSize: b.trainSize, validation: b.validation,
  };
  if (model.mupWidthMult !== undefined) s.mupWidthMult = model.mupWidthMult;
  switch (c.axis) {
    case 'batch': {
      const B = value as number;
      s.batch = B;
      if (b.lrScaling === 'linear') s.lr = round(b.lr * (B / b.batch));
      if (b.lrScaling === 'sqrt') s.lr = round(b.lr * Math.sqrt(B / b.batch));
      break;
    }
    case 'data': s.trainSize = value as number; break;
    case 'tpp': s.trainSize = tppValue(value).rows; break;
    case 'lr': s.lr = value as number; break;
    case 'epochs': s.epochs = value as number; break;
    case 'optimizer':
      s.optimizer = value as Trial['optimizer'];
      if (s.optimizer === 'adam' || s.optimizer === 'adamw') s.lr = b.adamLr;
      break;
    default: break;
  }
  if (c.axis === 'epochs' && c.budget.steps !== undefined) throw new ConfigError(`study ${c.name}: the epochs axis sets the epochs; give budget.epochs, not budget.steps`);
  return s;
}

const round = (v: number) => Number(v.toPrecision(6));

/**
 * A stable hash of a JSON value with sorted keys: two 53-bit halves (cyrb53 with two seeds),
 * 16 hex digits. Not cryptographic; it only needs to tell configs apart.
 */
export function trialId(value: unknown): string {
  const text = canonicalJson(value);
  return (cyrb53(text, 1).toString(16).padStart(14, '0').slice(-8) + cyrb53(text, 2).toString(16).padStart(14, '0').slice(-8));
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function cyrb53(text: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed, h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * `i/n` → the trials of shard i (1-based): those whose position in id order is ≡ i−1 mod n,
 * in the order given (scale by scale, coefficient by coefficient, every seed): so the shards
 * of a study finish its curves one scale at a time, and a study stopped halfway has whole
 * curves to report rather than scattered points everywhere.
 */
export function shardTrials(trials: readonly Trial[], shard: string): Trial[] {
  const m = /^(\d+)\/(\d+)$/.exec(shard);
  const i = m ? Number(m[1]) : NaN, n = m ? Number(m[2]) : NaN;
  if (!m || n < 1 || i < 1 || i > n) throw new ConfigError(`--shard must be i/n with 1 ≤ i ≤ n, got '${shard}'`);
  const sorted = [...trials].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const mine = new Set(sorted.filter((_, k) => k % n === i - 1).map((t) => t.id));
  return trials.filter((t) => mine.has(t.id));
}
