/**
 * From `--l2`, `--decay`, `--decay-params`, `--decay-mult` and `--width-mult` to regularization
 * terms in canonical units. The context conventions read comes from the run itself: B is
 * --batch, N the training rows after the validation split, η the peak --lr, T --epochs and P
 * the number of parameters the term decays.
 */
import { ConfigError } from '../errors.js';
import type { ModelSpec } from '../nn/spec.js';
import { paramShapes } from '../nn/spec.js';
import { parseCoefficient, type ConventionContext, type GivenCoefficient } from '../regularization/conventions.js';
import { decayMask } from '../regularization/mask.js';
import { mupAdjustment } from '../regularization/mup.js';
import { termFromGiven, type DecayParamsChoice, type RegTerm } from '../regularization/plan.js';

export interface RegularizationOptions {
  l2?: string;
  decay?: string;
  decayParams: string;
  decayMult?: string;
  widthMult?: number;
  optimizer: string;
}

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

/** PyTorch's AdamW default, used when --optimizer adamw is given without --decay. */
const ADAMW_DEFAULT = 'pytorch-adamw:weight_decay=0.01';

export function buildRegularization(o: RegularizationOptions, run: RunShape): BuiltRegularization {
  const notes: string[] = [];
  const given: { coefficient: GivenCoefficient; flag: string }[] = [];
  if (o.l2 !== undefined) {
    const c = parseCoefficient(o.l2, 'seed', '--l2');
    if (c.convention.kind !== 'coupled') {
      throw new ConfigError(`--l2: ${c.convention.id} is a decoupled decay (${c.convention.formula}); give it with --decay`);
    }
    given.push({ coefficient: c, flag: '--l2' });
  }
  let decay = o.decay;
  if (decay === undefined && o.optimizer === 'adamw') {
    decay = ADAMW_DEFAULT;
    notes.push(`--optimizer adamw without --decay: using PyTorch's default ${ADAMW_DEFAULT}`);
  }
  if (decay !== undefined) {
    const c = parseCoefficient(decay, 'pytorch-adamw', '--decay');
    if (c.convention.kind === 'coupled') {
      throw new ConfigError(`--decay: ${c.convention.id} is a coupled L2 penalty (${c.convention.formula}); give it with --l2`);
    }
    given.push({ coefficient: c, flag: '--decay' });
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
      const mup = mupAdjustment(shapes, o.widthMult ?? NaN);
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
    throw new ConfigError(`--decay-params framework is ambiguous: ${given.map((g) => `${g.convention.id} decays ${g.convention.decays}`).join(', ')}; name the parameters instead`);
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
    if (!m || !Number.isFinite(v) || v < 0) throw new ConfigError(`--decay-mult: expected name=factor with a non-negative factor, got '${part}'`);
    decayMask(m[1]);
    out[m[1]] = v;
  }
  return out;
}
