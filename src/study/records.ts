/**
 * Trial records of both editions, read as one shape. A first-edition trial named its MLP by
 * `hidden` (and `norm`), trained on the pool's first rows at a constant learning rate, and
 * kept no per-epoch curve; it is read with its arch written out, `edition: 1`, and its P
 * counted from the MLP, so the analysis and report treat both alike. Pure.
 */
import { mlpSpec, paramShapes, archToken } from '../nn/spec.js';
import type { TrialResult } from './run-trial.js';
import type { Trial } from './trials.js';

interface FirstEditionTrial {
  hidden: number[];
  norm?: 'batchnorm' | 'layernorm';
}

/** A stored record in the current shape (a first-edition one converted; a current one as is). */
export function normalizeRecord(r: TrialResult): TrialResult {
  const t = r.trial as Partial<Trial> & Partial<FirstEditionTrial>;
  if (t.edition !== undefined && t.edition >= 2) return r;
  const spec = mlpSpec(784, t.hidden ?? [], 10, 'relu', 0, t.norm);
  const decayed = paramShapes(spec).filter((p) => p.kind === 'dense-weight').reduce((s, p) => s + p.shape[0] * p.shape[1], 0);
  const { hidden: _h, norm: _n, ...rest } = t;
  const trial = { ...rest, edition: 1, arch: spec.layers.map(archToken).join(','), schedule: 'constant' } as unknown as Trial;
  return { ...r, trial, decayed_params: decayed };
}

/** Whether a record is of the first edition (before normalization). */
export const isFirstEdition = (r: TrialResult) => ((r.trial as Partial<Trial>).edition ?? 1) < 2;
