/**
 * Converting a coefficient from one convention to every other. Within a kind the conversion
 * is exact (both sides define the same λ_E, c or δ). Across kinds it goes through the per-step
 * shrink δ, which exists only without adaptive moments:
 *
 *   coupled λ_E → decoupled c:  c = 2λ_E/(1 − μ)   (same stationary point; identical updates when μ = 0)
 *   coupled λ_E → step δ:       δ = 2ηλ_E/(1 − μ)  (reads η)
 *   decoupled c → step δ:       δ = η·c            (at constant η; a schedule changes it)
 *
 * Coupled L2 under Adam is divided by √v̂, so it has no decoupled equivalent: the converter
 * says so and prints no number.
 */
import { ConfigError } from '../errors.js';
import { isAdaptive, OPTIMIZERS, type OptimizerName } from '../optim/names.js';
import { perStepShrink, shrinkOver, type Shrink } from './shrink.js';
import { CONVENTIONS, findConvention, requireContext, symbol, type Convention, type ConventionContext, type GivenCoefficient, type Kind } from './conventions.js';
import { contextField } from './fields.js';

/** The optimizer a conversion reads η and μ under (optim/names.ts). */
export type ConvertOptimizer = OptimizerName;

export interface ConvertContext extends ConventionContext {
  optimizer: ConvertOptimizer;
}

export type Exactness = 'exact' | 'same stationary point' | 'constant learning rate';

export interface ConversionResult {
  convention: string;
  param: string;
  kind: Kind;
  value: number | null;
  formula: string;
  exactness: Exactness | null;
  /** Why there is no number, or what the number assumes. */
  notes: string[];
}

export interface ConversionReport {
  from: { text: string; convention: string; kind: Kind; value: number };
  context: ConvertContext;
  /** The source in its kind's canonical unit. */
  canonical: { kind: Kind; value: number; unit: string };
  /** Per-step shrink of a decayed weight at the peak η (shrink.ts: direct and long-run through momentum); null without η. */
  shrink: Shrink | null;
  /** Steps per epoch S = ⌈N/B⌉, when N and B are known. */
  stepsPerEpoch: number | null;
  /** Direct δ per step (= shrink.direct), and (1 − δ)^S. */
  deltaPerStep: number | null;
  shrinkPerEpoch: number | null;
  results: ConversionResult[];
}

const UNITS: Record<Kind, string> = {
  coupled: 'λ_E (objective coefficient)',
  decoupled: 'c (δ_t = η_t·c per step)',
  step: 'δ (fraction per step)',
};


/** Canonical value of kind `to` from canonical value `v` of kind `from`, or why not. */
function bridge(from: Kind, to: Kind, v: number, ctx: ConvertContext): { value: number; exactness: Exactness } | { reason: string } {
  if (from === to) return { value: v, exactness: 'exact' };
  if ((from === 'coupled' || to === 'coupled') && isAdaptive(ctx.optimizer)) {
    return { reason: `coupled L2 under ${ctx.optimizer} is divided by √v̂: its per-step shrink depends on gradient statistics, so no ${from === 'coupled' ? to : from} coefficient is equivalent` };
  }
  const mu = ctx.momentum ?? 0;
  const needLr = () => ctx.lr === undefined ? { reason: `needs η: give ${contextField('lr')}` } : null;
  const withMomentum = mu > 0 ? 'same stationary point' : 'exact';
  switch (`${from}>${to}`) {
    case 'coupled>decoupled': return { value: (2 * v) / (1 - mu), exactness: withMomentum };
    case 'decoupled>coupled': return { value: (v * (1 - mu)) / 2, exactness: withMomentum };
    case 'coupled>step': return needLr() ?? { value: (2 * ctx.lr! * v) / (1 - mu), exactness: mu > 0 ? 'same stationary point' : 'constant learning rate' };
    case 'step>coupled': return needLr() ?? { value: (v * (1 - mu)) / (2 * ctx.lr!), exactness: mu > 0 ? 'same stationary point' : 'constant learning rate' };
    case 'decoupled>step': return needLr() ?? { value: ctx.lr! * v, exactness: 'constant learning rate' };
    case 'step>decoupled': return needLr() ?? { value: v / ctx.lr!, exactness: 'constant learning rate' };
  }
  throw new Error(`no bridge ${from} → ${to}`);
}

/** The per-step shrink of a canonical value of one kind, in the context (null without η). */
export function shrinkOf(kind: Kind, v: number, ctx: ConvertContext): Shrink | null {
  if (ctx.lr === undefined) return null;
  const terms = { lambdaE: kind === 'coupled' ? v : 0, decoupled: kind === 'decoupled' ? v : 0, step: kind === 'step' ? v : 0 };
  return perStepShrink(terms, { optimizer: ctx.optimizer, lr: ctx.lr, momentum: ctx.momentum });
}

export function convert(given: GivenCoefficient, ctx: ConvertContext, targets?: readonly string[]): ConversionReport {
  validateContext(ctx);
  const src = given.convention;
  const full = requireContext(src, ctx, given.text);
  const canonical = src.toCanonical(given.value, full);
  const chosen = targets ? targets.map(findConvention) : CONVENTIONS.filter((c) => c !== src);
  const results = chosen.map((target) => convertOne(src.kind, canonical, target, ctx, targets !== undefined));
  const shrink = shrinkOf(src.kind, canonical, ctx);
  const steps = ctx.n !== undefined && ctx.batch !== undefined ? Math.ceil(ctx.n / ctx.batch) : null;
  return {
    from: { text: given.text, convention: src.id, kind: src.kind, value: given.value },
    context: ctx,
    canonical: { kind: src.kind, value: canonical, unit: UNITS[src.kind] },
    shrink, stepsPerEpoch: steps,
    deltaPerStep: shrink?.direct ?? null,
    shrinkPerEpoch: steps !== null ? shrinkOver(shrink?.direct ?? null, steps) : null,
    results,
  };
}

function convertOne(fromKind: Kind, canonical: number, target: Convention, ctx: ConvertContext, strict: boolean): ConversionResult {
  const base = { convention: target.id, param: target.param, kind: target.kind, formula: target.formula };
  const missing = target.needs.filter((k) => ctx[k] === undefined);
  if (missing.length > 0) {
    const need = missing.map((k) => `${symbol(k)} (${contextField(k)})`).join(', ');
    if (strict) throw new ConfigError(`converting to ${target.id} needs ${need}`);
    return { ...base, value: null, exactness: null, notes: [`needs ${need}`] };
  }
  const b = bridge(fromKind, target.kind, canonical, ctx);
  if ('reason' in b) return { ...base, value: null, exactness: null, notes: [b.reason] };
  const value = target.fromCanonical(b.value, requireContext(target, ctx));
  const notes: string[] = [];
  if (b.exactness === 'same stationary point') notes.push(`with momentum μ=${ctx.momentum} the dynamics differ; the stationary point ḡ + 2λ_E·w = 0 is the same`);
  if (b.exactness === 'constant learning rate') notes.push('equal at a constant learning rate; a schedule changes one side and not the other');
  if (target.notes) notes.push(target.notes);
  return { ...base, value, exactness: b.exactness, notes };
}

function validateContext(ctx: ConvertContext): void {
  if (!OPTIMIZERS.includes(ctx.optimizer)) {
    throw new ConfigError(`${contextField('optimizer')} must be one of ${OPTIMIZERS.join(', ')}, got ${JSON.stringify(ctx.optimizer)}`);
  }
  for (const [key, v] of Object.entries(ctx)) {
    if (key === 'optimizer' || v === undefined) continue;
    const flag = contextField(key as keyof ConventionContext);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`${flag} must be a finite number, got ${v}`);
    if (key === 'momentum') {
      if (v < 0 || v >= 1) throw new ConfigError(`${flag} must be in [0, 1), got ${v}`);
    } else if (v <= 0) throw new ConfigError(`${flag} must be positive, got ${v}`);
    // Counts are whole: a batch of 1.5 examples is a typo, not a context.
    if ((key === 'batch' || key === 'n' || key === 'params' || key === 'epochs') && !Number.isInteger(v)) {
      throw new ConfigError(`${flag} must be a whole number, got ${v}`);
    }
  }
  if ((ctx.optimizer === 'momentum' || ctx.optimizer === 'nesterov') && ctx.momentum === undefined) {
    throw new ConfigError(`${contextField('optimizer')} ${ctx.optimizer} needs μ: give ${contextField('momentum')}`);
  }
  if ((ctx.optimizer === 'sgd' || isAdaptive(ctx.optimizer)) && (ctx.momentum ?? 0) > 0) {
    throw new ConfigError(`${contextField('momentum')} applies to ${contextField('optimizer')} momentum or nesterov, not ${ctx.optimizer}`);
  }
}
