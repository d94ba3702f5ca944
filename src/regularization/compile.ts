/**
 * The regularization compiler: from coefficients as a user gives them (any convention, as
 * text) to the terms a run applies, in canonical units, with the per-parameter learning-rate
 * scales muP needs. The CLI (`--l2`, `--decay`, `--decay-params`, `--decay-mult`,
 * `--width-mult`) and the study call it alike. The context conventions read comes from the run
 * itself: B is the batch size, N the training rows, η the peak learning rate, T the epochs and
 * P the number of parameters the term decays.
 *
 * No silent stacking: without `l2`, a run gets the default λ_E = 1e-4 only when it has no
 * decoupled or step decay and its optimizer is not AdamW; given together, both apply and a
 * note says so.
 */
import { ConfigError } from '../errors.js';
import type { ModelSpec } from '../nn/spec.js';
import { paramShapes } from '../nn/spec.js';
import { parseCoefficient, type ConventionContext, type GivenCoefficient } from './conventions.js';
import { regularizationField } from './fields.js';
import { decayMask } from './mask.js';
import { mupAdjustment } from './mup.js';
import { termFromGiven, type DecayParamsChoice, type RegTerm } from './plan.js';

export interface RegularizationOptions {
  /** Coupled L2: a number (λ_E) or `<convention>:<param>=<value>`; absent: DEFAULT_L2 unless a decay or AdamW is given. */
  l2?: string;
  /** Decoupled or step decay: a number (PyTorch AdamW's c) or a convention. */
  decay?: string;
  /** 'weights' | 'all' | 'framework' | name globs. */
  decayParams: string;
  /** Per-tensor multipliers, `dense1.*=0.5,dense3.weight=0`. */
  decayMult?: string;
  /** muP's width multiplier m (mup-adamw). */
  widthMult?: number;
  optimizer: string;
}

/** How errors and notes name each option (the CLI prints its flags instead: src/cli/flags.ts). */
const names = {
  l2: regularizationField('l2'), decay: regularizationField('decay'), decayParams: regularizationField('decayParams'),
  decayMult: regularizationField('decayMult'), widthMult: regularizationField('widthMult'),
};

/** λ_E when nothing else regularizes the run. */
export const DEFAULT_L2 = '1e-4';

export interface RunShape {
  spec: ModelSpec;
  trainCount: number;
  batch: number;
  lr: number;
  epochs: number;
}

export interface BuiltRegularization {
  terms: RegTerm[];
  /** Per-parameter learning-rate multipliers (muP). */
  lrScale: Record<string, number>;
  notes: string[];
}

/** PyTorch's AdamW default, used when the optimizer is adamw and no decay is given. */
const ADAMW_DEFAULT = 'pytorch-adamw:weight_decay=0.01';

export function compileRegularization(o: RegularizationOptions, run: RunShape): BuiltRegularization {
  const notes: string[] = [];
  const given: { coefficient: GivenCoefficient; flag: string }[] = [];
  let decay = o.decay;
  if (decay === undefined && o.optimizer === 'adamw') {
    decay = ADAMW_DEFAULT;
    notes.push(`optimizer adamw without ${names.decay}: using PyTorch's default ${ADAMW_DEFAULT}`);
  }
  const l2 = o.l2 ?? (decay === undefined ? DEFAULT_L2 : undefined);
  if (l2 !== undefined) {
    const c = parseCoefficient(l2, 'seed', names.l2);
    if (c.convention.kind !== 'coupled') {
      throw new ConfigError(`${names.l2}: ${c.convention.id} is a decoupled decay (${c.convention.formula}); give it as ${names.decay}`);
    }
    given.push({ coefficient: c, flag: names.l2 });
  }
  if (decay !== undefined) {
    const c = parseCoefficient(decay, 'pytorch-adamw', names.decay);
    if (c.convention.kind === 'coupled') {
      throw new ConfigError(`${names.decay}: ${c.convention.id} is a coupled L2 penalty (${c.convention.formula}); give it as ${names.l2}`);
    }
    given.push({ coefficient: c, flag: names.decay });
    if (o.l2 !== undefined && given[0].coefficient.value > 0) {
      notes.push(`both ${names.l2} ${o.l2} (coupled, through the optimizer's moments) and ${names.decay} ${decay} (decoupled) apply: they stack`);
    }
  }
  const choice = parseDecayParams(o.decayParams, given.map((g) => g.coefficient));
  const shapes = paramShapes(run.spec).map((p) => ({ ...p, value: { length: p.shape.reduce((a, b) => a * b, 1) } }));
  const multipliers = parseMultipliers(o.decayMult);
  const lrScale: Record<string, number> = {};
  // A zero coefficient (`--l2 0`) means no term: nothing in the chain, nothing in the summary.
  const terms = given.filter(({ coefficient }) => coefficient.value > 0).map(({ coefficient }) => {
    const selection = choice === 'framework' ? coefficient.convention.decays : choice;
    const mask = decayMask(selection);
    const context: ConventionContext = {
      batch: run.batch, n: run.trainCount, lr: run.lr, epochs: run.epochs, widthMult: o.widthMult,
      params: shapes.filter(mask).reduce((s, p) => s + p.value.length, 0),
    };
    const term = termFromGiven(coefficient, context, choice);
    if (Object.keys(multipliers).length > 0) term.multipliers = { ...multipliers };
    if (coefficient.convention.per === 'mup') {
      if (o.widthMult === undefined) throw new ConfigError(`${coefficient.text}: muP needs the width multiplier m (${names.widthMult})`);
      const mup = mupAdjustment(shapes, o.widthMult);
      Object.assign(lrScale, mup.lrScale);
      term.multipliers = { ...term.multipliers, ...mup.decayScale };
      notes.push(`muP at width multiplier ${o.widthMult}: ${mup.matrixLike.join(', ') || '(no hidden-to-hidden weights)'} get lr/${o.widthMult} and decay ×${o.widthMult}`);
    }
    return term;
  });
  return { terms, lrScale, notes };
}

/** 'weights' | 'all' | 'framework' | name globs. 'framework' needs the conventions to agree. */
function parseDecayParams(value: string, given: GivenCoefficient[]): DecayParamsChoice {
  if (value !== 'framework') return value;
  const defaults = new Set(given.map((g) => g.convention.decays));
  if (defaults.size > 1) {
    throw new ConfigError(`${names.decayParams} framework is ambiguous: ${given.map((g) => `${g.convention.id} decays ${g.convention.decays}`).join(', ')}; name the parameters instead`);
  }
  return 'framework';
}

/** "dense1.*=0.5,dense3.weight=0" → { 'dense1.*': 0.5, 'dense3.weight': 0 }. */
function parseMultipliers(text: string | undefined): Record<string, number> {
  if (!text) return {};
  const out: Record<string, number> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([\w.*-]+)=(.+)$/.exec(part);
    const v = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(v) || v < 0) throw new ConfigError(`${names.decayMult}: expected name=factor with a non-negative factor, got '${part}'`);
    decayMask(m[1]);
    out[m[1]] = v;
  }
  return out;
}
