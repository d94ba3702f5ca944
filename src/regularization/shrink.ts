/**
 * Where λ becomes a per-step decay: the one place that says how much of a decayed weight one
 * optimizer step removes because of regularization. `train`'s summary, `convert`, the study
 * report and the docs all print these numbers from here, with these words.
 *
 * For a weight w and the three kinds of term (regularization.md, "Canonical quantities"):
 *
 *   coupled λ_E   the gradient gets 2λ_E·w, so a plain SGD step removes 2η·λ_E of w;
 *   decoupled c   the step removes η·c of w (η follows the schedule);
 *   step δ        the step removes δ of w, whatever η.
 *
 * The **direct** shrink δ is their sum at the peak η: what one step removes before any
 * momentum. Through heavy-ball momentum μ the coupled part is applied again by every later
 * step through the buffer, so its **long-run** shrink per step is 2η·λ_E/(1 − μ) (the
 * geometric sum of the buffer); decoupled and step decay sit outside the buffer and are the
 * same in both. Under Adam, coupled L2 is divided by √v̂: its shrink depends on gradient
 * statistics and neither number exists.
 */
import { isAdaptive, type OptimizerName } from '../optim/names.js';


/** The optimizer a shrink is computed under (optim/names.ts). */
export type ShrinkOptimizer = OptimizerName;

export interface ShrinkTerms {
  /** λ_E (coupled), summed over terms; 0 when none. */
  lambdaE: number;
  /** Decoupled c (δ_t = η_t·c); 0 when none. */
  decoupled: number;
  /** lr-independent δ per step; 0 when none. */
  step: number;
}

export interface ShrinkContext {
  optimizer: ShrinkOptimizer;
  /** Peak learning rate η of this parameter (after any per-parameter scale, e.g. muP). */
  lr: number;
  /** Heavy-ball μ for momentum and nesterov; 0 otherwise. */
  momentum?: number;
}

export interface Shrink {
  /** Fraction of the weight one step removes, at the peak η, without momentum; null when undefined (coupled L2 under Adam). */
  direct: number | null;
  /** The same through momentum's buffer in the long run; equals `direct` without momentum. */
  longRun: number | null;
  /** Why there is no number, when there is none. */
  why?: string;
}


export function perStepShrink(t: ShrinkTerms, ctx: ShrinkContext): Shrink {
  const outside = ctx.lr * t.decoupled + t.step;
  if (t.lambdaE > 0 && isAdaptive(ctx.optimizer)) {
    return { direct: null, longRun: null, why: `coupled L2 under ${ctx.optimizer} is divided by √v̂: its per-step shrink depends on gradient statistics and has no fixed δ` };
  }
  const coupled = 2 * ctx.lr * t.lambdaE;
  const mu = ctx.optimizer === 'momentum' || ctx.optimizer === 'nesterov' ? (ctx.momentum ?? 0) : 0;
  return { direct: coupled + outside, longRun: coupled / (1 - mu) + outside };
}

/** (1 − δ)^S: what is left of a weight after S steps of shrink δ alone; null when δ is. */
export function shrinkOver(delta: number | null, steps: number): number | null {
  return delta === null ? null : Math.pow(1 - delta, steps);
}

/** One line, the same in every command: `direct δ per step = …; long-run through momentum μ=0.9: …`. */
export function formatShrink(s: Shrink, stepsPerEpoch: number | null, momentum?: number): string {
  if (s.direct === null) return `δ per step: undefined (${s.why})`;
  const epoch = stepsPerEpoch === null ? '' : `, shrink per epoch (1 − δ)^${stepsPerEpoch} = ${shrinkOver(s.direct, stepsPerEpoch)!.toFixed(5)}`;
  const long = s.longRun !== null && Math.abs(s.longRun - s.direct) > 1e-15 * Math.max(1, s.longRun)
    ? `; long-run through momentum μ=${momentum}: ${fmt(s.longRun)} per step${stepsPerEpoch === null ? '' : `, ${shrinkOver(s.longRun, stepsPerEpoch)!.toFixed(5)} per epoch`}`
    : '';
  return `direct δ per step = ${fmt(s.direct)} (at the peak η)${epoch}${long}`;
}

const fmt = (v: number) => String(Number(v.toPrecision(4)));
