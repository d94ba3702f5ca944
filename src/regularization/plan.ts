/**
 * A regularization plan: the terms a run applies, each in canonical units with its own
 * parameter selection, built from the coefficients a user gave in any convention. Plain data,
 * saved with the run. train/objective.ts turns it into gradient transformations at the three
 * places of the chain (before the moments, after them, after the learning rate).
 */
import { ConfigError } from '../errors.js';
import type { Param } from '../tensor/param.js';
import { parseCoefficient, requireContext, type ConventionContext, type GivenCoefficient, type Kind } from './conventions.js';
import { decayMask, type DecaySelection, type ParamMask } from './mask.js';

export interface RegTerm {
  /** The coefficient as the user gave it, e.g. 'sklearn-mlp:alpha=0.064'. */
  given: string;
  kind: Kind;
  /**
   * Canonical value: λ_E (coupled), c with δ_t = η_t·c (decoupled), δ (step). With
   * scale 'tensor' it is c and tensor t gets c/P_t; with scale 'batch' it is λ_E at batch
   * size `batch` and a step on B_step examples uses λ_E·batch/B_step.
   */
  value: number;
  scale?: 'tensor' | 'batch';
  /** Nominal batch size for scale 'batch'. */
  batch?: number;
  decayParams: DecaySelection;
  /** Parameter-name glob → multiplier of the coefficient (ConvNetJS l2_decay_mul, muP). */
  multipliers?: Record<string, number>;
}

export type DecayParamsChoice = DecaySelection | 'framework';

/**
 * A term from a user's coefficient. `context` supplies what the convention reads (B, N, η, T,
 * P, m); P defaults to the number of decayed parameters when `params` is given here.
 */
export function termFromGiven(given: GivenCoefficient, context: ConventionContext, decayParams: DecayParamsChoice): RegTerm {
  const conv = given.convention;
  const selection = decayParams === 'framework' ? conv.decays : decayParams;
  if (conv.per === 'tensor') {
    return { given: given.text, kind: conv.kind, value: given.value, scale: 'tensor', decayParams: selection };
  }
  const ctx = requireContext(conv, context, given.text);
  const value = conv.toCanonical(given.value, ctx);
  if (conv.per === 'batch') return { given: given.text, kind: conv.kind, value, scale: 'batch', batch: ctx.batch, decayParams: selection };
  return { given: given.text, kind: conv.kind, value, decayParams: selection };
}

/**
 * The coefficient a term applies to one parameter on a step of `batchSize` examples, in the
 * term's canonical unit, after multipliers and per-tensor or per-batch scaling.
 */
export function coefficientFor(term: RegTerm, p: Pick<Param, 'name' | 'shape' | 'kind'> & { value: { length: number } }, batchSize: number): number {
  let v = term.value;
  for (const [mask, factor] of multiplierMasks(term)) {
    if (mask(p)) v *= factor;
  }
  if (term.scale === 'tensor') v /= p.value.length;
  if (term.scale === 'batch') v = (v * term.batch!) / batchSize;
  return v;
}

const compiled = new WeakMap<RegTerm, [ParamMask, number][]>();
function multiplierMasks(term: RegTerm): [ParamMask, number][] {
  let m = compiled.get(term);
  if (!m) {
    m = Object.entries(term.multipliers ?? {}).map(([glob, factor]) => [decayMask(glob), factor]);
    compiled.set(term, m);
  }
  return m;
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
  for (const t of terms) {
    if (!(Number.isFinite(t.value) && t.value >= 0)) throw new ConfigError(`${t.given}: coefficient must be finite and non-negative`);
  }
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
