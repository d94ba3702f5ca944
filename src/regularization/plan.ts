/**
 * A regularization plan: the terms a run applies, each in canonical units with its own
 * parameter selection, built from the coefficients a user gave in any convention. Plain data,
 * saved with the run. train/objective.ts turns it into gradient transformations at the three
 * places of the chain (before the moments, after them, after the learning rate).
 */
import { ConfigError } from '../errors.js';
import type { Param } from '../tensor/param.js';
import { parseCoefficient, requireContext, type ConventionContext, type GivenCoefficient, type Kind } from './conventions.js';
import { decayMask, type DecaySelection } from './mask.js';
import { decoupledDecay, l2Coefficient, stepDecay, type DecoupledDecay, type L2Coefficient, type StepDecay } from './units.js';

/**
 * How a term's coefficient becomes one parameter's coefficient on one step:
 *   parameter  the value applies to every selected parameter as it is
 *   tensor     tensor t gets value / P_t (P_t its number of scalars): a per-weight convention
 *   batch      the value holds at the nominal batch `batch`; a step on B_step examples gets
 *              value·batch/B_step (scikit-learn divides alpha by each batch's own size)
 */
export type Scaling = { per: 'parameter' } | { per: 'tensor' } | { per: 'batch'; batch: number };

interface TermCommon {
  /** The coefficient as the user gave it, e.g. 'sklearn-mlp:alpha=0.064'. */
  given: string;
  decayParams: DecaySelection;
  /** Absent: per parameter. */
  scaling?: Scaling;
  /** Parameter-name glob → multiplier of the coefficient (ConvNetJS l2_decay_mul, muP). */
  multipliers?: Record<string, number>;
}

/** Coupled L2: λ_E of E = mean CE + λ_E·Σw², added to the gradient before the optimizer's moments. */
export interface CoupledTerm extends TermCommon { kind: 'coupled'; value: L2Coefficient }
/** Decoupled decay c: δ_t = η_t·c per step after the moments (AdamW). */
export interface DecoupledTerm extends TermCommon { kind: 'decoupled'; value: DecoupledDecay }
/** Step decay δ: a fixed fraction removed per step after the learning rate (tf-addons SGDW). */
export interface StepTerm extends TermCommon { kind: 'step'; value: StepDecay }

/**
 * One regularization term of a run, in canonical units (units.ts), with its own parameter
 * selection. Plain data, saved with the run; build it with `regularizationTerm` or
 * `compileRegularization` rather than by hand, so the units are checked.
 */
export type RegTerm = CoupledTerm | DecoupledTerm | StepTerm;

/** A term of `kind` with a checked value in that kind's unit. */
export function makeTerm(kind: Kind, value: number, common: TermCommon): RegTerm {
  switch (kind) {
    case 'coupled': return { ...common, kind, value: l2Coefficient(value, common.given) };
    case 'decoupled': return { ...common, kind, value: decoupledDecay(value, common.given) };
    case 'step': return { ...common, kind, value: stepDecay(value, common.given) };
  }
}

export type DecayParamsChoice = DecaySelection | 'framework';

/**
 * A term from a user's coefficient. `context` supplies what the convention reads (B, N, η, T,
 * P, m); P defaults to the number of decayed parameters when `params` is given here.
 */
export function termFromGiven(given: GivenCoefficient, context: ConventionContext, decayParams: DecayParamsChoice): RegTerm {
  const conv = given.convention;
  const common = { given: given.text, decayParams: decayParams === 'framework' ? conv.decays : decayParams };
  if (conv.per === 'tensor') return makeTerm(conv.kind, given.value, { ...common, scaling: { per: 'tensor' } });
  const ctx = requireContext(conv, context, given.text);
  const value = conv.toCanonical(given.value, ctx);
  if (conv.per === 'batch') return makeTerm(conv.kind, value, { ...common, scaling: { per: 'batch', batch: ctx.batch } });
  return makeTerm(conv.kind, value, common);
}

/**
 * What one parameter's coefficient is, per term: the part fixed for the run (multipliers,
 * per-tensor division) resolved once per parameter, times the batch factor of the step.
 * This is the one place a term's value becomes a parameter's coefficient.
 */
export function termResolver(term: RegTerm): (p: Pick<Param, 'name' | 'shape' | 'kind'> & { value: { length: number } }, batchSize: number) => number {
  const masks = Object.entries(term.multipliers ?? {}).map(([glob, factor]) => [decayMask(glob), factor] as const);
  const perParam = new Map<string, number>();
  const scaling = term.scaling ?? { per: 'parameter' };
  return (p, batchSize) => {
    let v = perParam.get(p.name);
    if (v === undefined) {
      v = term.value as number;
      for (const [mask, factor] of masks) if (mask(p)) v *= factor;
      if (scaling.per === 'tensor') v /= p.value.length;
      perParam.set(p.name, v);
    }
    return scaling.per === 'batch' ? (v * scaling.batch) / batchSize : v;
  };
}

/** One parameter's coefficient on a step of `batchSize` examples (termResolver, once). */
export function coefficientFor(term: RegTerm, p: Pick<Param, 'name' | 'shape' | 'kind'> & { value: { length: number } }, batchSize: number): number {
  return termResolver(term)(p, batchSize);
}

/** λ_E per decayed parameter at the nominal batch size (for the penalty and the summary). */
export function coupledCoefficients(terms: readonly RegTerm[], params: readonly Param[], batchSize: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const term of terms) {
    if (term.kind !== 'coupled') continue;
    const mask = decayMask(term.decayParams);
    for (const p of params) {
      if (mask(p)) out.set(p.name, (out.get(p.name) ?? 0) + coefficientFor(term, p, batchSize));
    }
  }
  return out;
}

/** Rejects plans that cannot be what the user meant. */
export function validatePlan(terms: readonly RegTerm[]): void {
  const decoupledTerms = terms.filter((t) => t.kind !== 'coupled');
  if (decoupledTerms.length > 1) {
    throw new ConfigError(`two decoupled decays given (${decoupledTerms.map((t) => t.given).join(' and ')}); give one`);
  }
  // Terms built by hand (plain objects, say from JSON) get their units checked here.
  for (const t of terms) makeTerm(t.kind, t.value, t);
}

/**
 * A term as saved with a run (its model file and checkpoints): today's shape, or the earlier
 * one with `scale: 'tensor' | 'batch'` and `batch` beside the value.
 */
export function savedTerm(x: RegTerm | (Omit<RegTerm, 'scaling' | 'value'> & { value: number; scale?: 'tensor' | 'batch'; batch?: number })): RegTerm {
  if (!('scale' in x) || x.scale === undefined) return makeTerm(x.kind, x.value, x as TermCommon);
  const { scale, batch, value, kind, ...common } = x;
  if (scale === 'batch' && !(typeof batch === 'number' && batch > 0)) throw new ConfigError(`${x.given}: a per-batch term saved without its batch size`);
  return makeTerm(kind, value, { ...common, scaling: scale === 'tensor' ? { per: 'tensor' } : { per: 'batch', batch: batch! } });
}

/**
 * A term from text, for library users: `regularizationTerm('sklearn-mlp:alpha=0.064',
 * { batch: 128 })`; a bare number is the seed's λ_E.
 */
export function regularizationTerm(text: string, context: ConventionContext = {}, decayParams: DecayParamsChoice = 'weights'): RegTerm {
  const given = parseCoefficient(text, 'seed', text);
  if (given.convention.per === 'mup') {
    // muP changes per-parameter learning rates too, which a term alone cannot carry.
    throw new ConfigError(`${text}: muP scales the hidden matrices' learning rates and decay by the width multiplier; build it with compileRegularization({ decay: '${text}', widthMult: m, … }, { spec, … })`);
  }
  return termFromGiven(given, context, decayParams);
}
