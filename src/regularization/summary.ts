/**
 * What the regularization does, per parameter group, in the canonical units of
 * regularization.md: λ_E (or "decoupled"), the per-step shrink δ and the shrink per epoch
 * (1 − δ)^S. Printed at the start of training and saved with the run, so the run can be
 * reproduced in another framework.
 */
import type { Param } from '../tensor/param.js';
import { decayMask } from './mask.js';
import { coefficientFor, type RegTerm } from './plan.js';
import { formatShrink, perStepShrink, shrinkOver, type Shrink, type ShrinkOptimizer } from './shrink.js';

export interface DecayGroup {
  group: string;
  tensors: string[];
  /** Number of scalar parameters P in the group. */
  size: number;
  /** Objective-level coefficient; null when there is no coupled term. */
  lambdaE: number | null;
  /** Decoupled, lr-coupled c (δ_t = η_t·c); null when absent. */
  decoupled: number | null;
  /** Decoupled, lr-independent δ; null when absent. */
  stepDecay: number | null;
  /** The per-step shrink (shrink.ts): direct δ at the peak η, and long-run through momentum; nulls when undefined (coupled L2 under Adam). */
  shrink: Shrink;
  /** Direct δ per step (= shrink.direct). */
  deltaPerStep: number | null;
  /** (1 − δ)^S with the direct δ, S steps per epoch. */
  shrinkPerEpoch: number | null;
  /** The coefficients as the user gave them. */
  given: string[];
  notes: string[];
}

export interface SummaryContext {
  optimizer: string;
  /** Peak learning rate η. */
  lr: number;
  momentum?: number;
  stepsPerEpoch: number;
  /** Nominal batch size B (per-batch conventions are reported at it). */
  batchSize: number;
  /** Per-parameter learning-rate multipliers (muP); 1 when absent. */
  lrScale?: Readonly<Record<string, number>>;
}

export function summarizeRegularization(params: readonly Param[], terms: readonly RegTerm[], ctx: SummaryContext): DecayGroup[] {
  // Parameters with the same coefficients form one group.
  const groups = new Map<string, { params: Param[]; l: number; c: number; d: number; lr: number; given: Set<string> }>();
  for (const p of params) {
    let l = 0, c = 0, d = 0;
    const lr = ctx.lr * (ctx.lrScale?.[p.name] ?? 1);
    const given = new Set<string>();
    for (const t of terms) {
      if (!decayMask(t.decayParams)(p)) continue;
      const v = coefficientFor(t, p, ctx.batchSize);
      if (v === 0) continue;
      given.add(t.given);
      if (t.kind === 'coupled') l += v;
      else if (t.kind === 'decoupled') c += v;
      else d += v;
    }
    const key = `${l}|${c}|${d}|${lr}`;
    const g = groups.get(key) ?? { params: [], l, c, d, lr, given };
    g.params.push(p);
    groups.set(key, g);
  }
  const sorted = [...groups.values()].sort((a, b) => (b.l + b.c + b.d) - (a.l + a.c + a.d));
  return sorted.map((g, i) => {
    const none = g.l === 0 && g.c === 0 && g.d === 0;
    const notes: string[] = [];
    const shrink = perStepShrink({ lambdaE: g.l, decoupled: g.c, step: g.d }, { optimizer: ctx.optimizer as ShrinkOptimizer, lr: g.lr, momentum: ctx.momentum });
    if (g.c > 0) notes.push('decoupled: δ_t = η_t·c follows the learning-rate schedule');
    if (g.lr !== ctx.lr) notes.push(`learning rate ×${fmt(g.lr / ctx.lr)} for this group (muP)`);
    return {
      group: none ? 'not decayed' : sorted.length > 2 || (sorted.length === 2 && sorted.every((x) => x.l + x.c + x.d > 0)) ? `decayed (group ${i + 1})` : 'decayed',
      tensors: g.params.map((p) => p.name),
      size: g.params.reduce((s, p) => s + p.value.length, 0),
      lambdaE: g.l > 0 ? g.l : null,
      decoupled: g.c > 0 ? g.c : null,
      stepDecay: g.d > 0 ? g.d : null,
      shrink,
      deltaPerStep: shrink.direct,
      shrinkPerEpoch: shrinkOver(shrink.direct, ctx.stepsPerEpoch),
      given: [...g.given],
      notes,
    };
  });
}

export function formatSummary(groups: readonly DecayGroup[], stepsPerEpoch: number, momentum?: number): string {
  return groups.map((g) => {
    const head = `${g.group}: ${g.tensors.join(', ') || '(none)'} (P = ${g.size})`;
    if (g.group === 'not decayed') return head;
    const coefficients = [
      g.lambdaE !== null ? `λ_E = ${fmt(g.lambdaE)}` : 'λ_E = — (no coupled term)',
      g.decoupled !== null ? `decoupled c = ${fmt(g.decoupled)}` : '',
      g.stepDecay !== null ? `δ (lr-independent) = ${fmt(g.stepDecay)}` : '',
    ].filter(Boolean).join(', ');
    return [
      head,
      `  from ${g.given.join(' + ')}`,
      `  ${coefficients}`,
      `  ${formatShrink(g.shrink, stepsPerEpoch, momentum)}`,
      ...g.notes.map((n) => `  note: ${n}`),
    ].join('\n');
  }).join('\n');
}

const fmt = (v: number) => String(Number(v.toPrecision(4)));
