/**
 * From a study config to its trials: every (axis value, coefficient, seed), each a complete,
 * self-describing training config whose id is a hash of that config. Ids make reruns skip
 * finished trials and merges deduplicate; shards are deterministic slices by id.
 */
import { ConfigError } from '../errors.js';
import { logGrid, type StudyConfig } from './config.js';

export interface Trial {
  /**
   * 16 hex digits, a hash of every other field. The study name is part of it: two studies
   * (say the width and the batch presets) share their base point, and each needs its own.
   */
  id: string;
  study: string;
  axis: StudyConfig['axis'];
  /** The axis value this trial sits at. */
  value: number | string;
  seed: number;
  /** 'coupled': the seed objective's λ_E; 'decoupled': AdamW's c. */
  kind: 'coupled' | 'decoupled';
  coefficient: number;
  hidden: number[];
  optimizer: 'sgd' | 'momentum' | 'adam' | 'adamw';
  lr: number;
  momentum: number;
  batch: number;
  /** Training rows (0 = all after the validation split). */
  trainSize: number;
  validation: number;
  epochs?: number;
  steps?: number;
  /** Names the data, so the same config on other data is another trial. */
  data: string;
  /** Normalization after each hidden dense layer; absent means none (so older trial ids stay valid). */
  norm?: 'batchnorm' | 'layernorm';
}

export function expandTrials(c: StudyConfig, data: string): Trial[] {
  const trials: Trial[] = [];
  for (const value of c.values) {
    const t = settingsAt(c, value);
    // AdamW sweeps its decoupled c; every other optimizer the seed objective's λ_E.
    const kind: Trial['kind'] = t.optimizer === 'adamw' ? 'decoupled' : 'coupled';
    for (const coefficient of logGrid(kind === 'decoupled' ? c.decay : c.lambda)) {
      for (const seed of c.seeds) {
        const body: Omit<Trial, 'id' | 'study'> = {
          axis: c.axis, value, seed, kind, coefficient, ...t,
          ...(c.budget.epochs !== undefined ? { epochs: c.budget.epochs } : { steps: c.budget.steps }), data,
        };
        trials.push({ id: trialId({ study: c.name, ...body }), study: c.name, ...body });
      }
    }
  }
  return trials;
}

/** The base settings with the axis applied at `value`. */
function settingsAt(c: StudyConfig, value: number | string): Pick<Trial, 'hidden' | 'optimizer' | 'lr' | 'momentum' | 'batch' | 'trainSize' | 'validation' | 'norm'> {
  const b = c.base;
  const s: ReturnType<typeof settingsAt> = { hidden: [...b.hidden], optimizer: b.optimizer, lr: b.lr, momentum: b.momentum, batch: b.batch, trainSize: b.trainSize, validation: b.validation };
  switch (c.axis) {
    case 'width': s.hidden = b.hidden.map(() => value as number); break;
    case 'depth': s.hidden = Array.from({ length: value as number }, () => b.hidden[0]); break;
    case 'batch': s.batch = value as number; break;
    case 'data': s.trainSize = value as number; break;
    case 'lr': s.lr = value as number; break;
    case 'optimizer':
      s.optimizer = value as Trial['optimizer'];
      if (s.optimizer === 'adam' || s.optimizer === 'adamw') s.lr = b.adamLr;
      break;
    case 'norm':
      if (value !== 'none') s.norm = value as NonNullable<Trial['norm']>;
      break;
  }
  return s;
}

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

/** `i/n` → the trials of shard i (1-based): those whose position in id order is ≡ i−1 mod n. */
export function shardTrials(trials: readonly Trial[], shard: string): Trial[] {
  const m = /^(\d+)\/(\d+)$/.exec(shard);
  const i = m ? Number(m[1]) : NaN, n = m ? Number(m[2]) : NaN;
  if (!m || n < 1 || i < 1 || i > n) throw new ConfigError(`--shard must be i/n with 1 ≤ i ≤ n, got '${shard}'`);
  const sorted = [...trials].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return sorted.filter((_, k) => k % n === i - 1);
}
