/**
 * What the regularization does, per parameter group, in the canonical units of
 * regularization.md: λ_E (or "decoupled"), the per-step shrink δ and the shrink per epoch
 * (1 − δ)^S. Printed at the start of training and saved with the run.
 */
import type { Param } from '../tensor/param.js';
import type { ParamMask } from './mask.js';
import type { DecoupledDecay, L2Coefficient } from './units.js';

export interface DecayGroup {
  group: 'decayed' | 'not decayed';
  tensors: string[];
  /** Number of scalar parameters P in the group. */
  size: number;
  /** Objective-level coefficient; null when the decay is decoupled or absent. */
  lambdaE: number | null;
  /** Fraction of each weight removed per plain step at the peak learning rate; null when undefined (coupled L2 under Adam). */
  deltaPerStep: number | null;
  /** (1 − δ)^S, S steps per epoch. */
  shrinkPerEpoch: number | null;
  notes: string[];
}

export interface SummaryContext {
  l2: L2Coefficient;
  /** AdamW's decoupled decay c, if any (δ = η·c). */
  decoupled?: DecoupledDecay;
  optimizer: string;
  /** Peak learning rate η. */
  lr: number;
  momentum?: number;
  stepsPerEpoch: number;
}

export function summarizeRegularization(params: readonly Param[], mask: ParamMask, ctx: SummaryContext): DecayGroup[] {
  const chosen = params.filter(mask), rest = params.filter((p) => !mask(p));
  const size = (ps: readonly Param[]) => ps.reduce((s, p) => s + p.value.length, 0);
  const adaptive = ctx.optimizer === 'adam' || ctx.optimizer === 'adamw';
  const decoupled = ctx.decoupled ?? 0;
  const notes: string[] = [];
  let delta: number | null = 0;
  if (ctx.l2 > 0) {
    if (adaptive) {
      delta = null;
      notes.push('coupled L2 under Adam is divided by √v̂: its per-step shrink depends on gradient statistics and has no fixed δ');
    } else {
      delta = 2 * ctx.lr * ctx.l2;
      if (ctx.momentum && ctx.momentum > 0) {
        notes.push(`through momentum μ=${ctx.momentum} the long-run shrink per step is ≈ δ/(1−μ) = ${fmt(delta / (1 - ctx.momentum))}`);
      }
    }
  }
  if (decoupled > 0) {
    // Under Adam the coupled part has no fixed δ, so neither has the sum.
    if (delta !== null) delta += ctx.lr * decoupled;
    notes.push(`decoupled decay c=${decoupled}: δ = η·c follows the learning-rate schedule`);
  }
  if (ctx.l2 === 0 && decoupled === 0) notes.push('no regularization');
  const decayedGroup: DecayGroup = {
    group: 'decayed', tensors: chosen.map((p) => p.name), size: size(chosen),
    lambdaE: ctx.l2 > 0 ? ctx.l2 : null,
    deltaPerStep: delta,
    shrinkPerEpoch: delta === null ? null : Math.pow(1 - delta, ctx.stepsPerEpoch),
    notes,
  };
  const groups = [decayedGroup];
  if (rest.length > 0) {
    groups.push({ group: 'not decayed', tensors: rest.map((p) => p.name), size: size(rest), lambdaE: null, deltaPerStep: 0, shrinkPerEpoch: 1, notes: [] });
  }
  return groups;
}

export function formatSummary(groups: readonly DecayGroup[]): string {
  return groups.map((g) => {
    const parts = [
      `${g.group}: ${g.tensors.join(', ') || '(none)'} (P = ${g.size})`,
      g.group === 'decayed' ? `  λ_E = ${g.lambdaE === null ? '— (decoupled or none)' : fmt(g.lambdaE)}` : '',
      g.group === 'decayed' ? `  δ per step = ${g.deltaPerStep === null ? 'undefined' : fmt(g.deltaPerStep)}, shrink per epoch = ${g.shrinkPerEpoch === null ? 'undefined' : g.shrinkPerEpoch.toFixed(5)}` : '',
      ...g.notes.map((n) => `  note: ${n}`),
    ];
    return parts.filter(Boolean).join('\n');
  }).join('\n');
}

const fmt = (v: number) => String(Number(v.toPrecision(4)));
