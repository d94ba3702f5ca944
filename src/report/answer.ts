/**
 * The plain-language answer to a study: which convention to hold fixed along the axis, how
 * sure the data is, and when it cannot tell. Every number and every verdict comes from the
 * analysis; the words only say what the numbers say. Pure.
 */
import type { ContextKey } from '../regularization/conventions.js';
import type { AxisAnalysis, Movement, ScaleOptimum } from '../study/analysis.js';
import { CATEGORICAL_AXES } from '../study/config.js';
import {
  axisValue, canonicalSymbol, conventionLabel, conventionOf, edgeSide, edgeStatus, fmtCoef, fmtSe, fmtSigned, fmtSlope,
} from './format.js';

/** A piece of answer text: plain words, or a name to set as code. */
export type Segment = string | { code: string };

export type Verdict =
  /** Exactly one family of conventions holds the optimum fixed, and the others do not. */
  | 'transfers'
  /** Several families are within their uncertainty, or optima sit at the grid's edge. */
  | 'undecided'
  /** No convention holds the optimum fixed: it has to be re-tuned along the axis. */
  | 'moves'
  /** Nothing to fit: a categorical axis, or a single value. */
  | 'no-fit';

export interface Answer {
  study: string;
  axis: AxisAnalysis['axis'];
  verdict: Verdict;
  /** Paragraphs, each a list of segments. */
  paragraphs: Segment[][];
}

/**
 * Conventions that transfer or fail together along this axis: each is a fixed function of the
 * lead's coefficient here, either a constant multiple (keras:l2 of seed:lambda; bengio:c too
 * when N is fixed) or a constant over it (sklearn-logreg:C = 1/(2·λ_E·N)), so their optima
 * move by the same number of octaves, the inverse ones in the opposite direction.
 */
export interface ConventionGroup {
  /** The first member, in the order of CONVENTIONS. */
  lead: Movement;
  /** Every member, the lead first. */
  members: Movement[];
  /** The members whose optimum moves opposite to the lead's (inverse conventions). */
  inverted: Movement[];
  /** log2 of the lead's optimum over its optimum at the first scale value: the plotted curve. */
  relative: number[];
}

export function conventionGroups(a: AxisAnalysis): ConventionGroup[] {
  const groups: ConventionGroup[] = [];
  const close = (x: readonly number[], y: readonly number[], sign: number) => x.every((r, i) => Math.abs(r - sign * y[i]) < 1e-9);
  for (const m of a.movements) {
    const relative = m.values.map((v) => Math.log2(v.coefficient / m.values[0].coefficient));
    const same = groups.find((g) => close(g.relative, relative, 1));
    const opposite = same ? undefined : groups.find((g) => close(g.relative, relative, -1));
    if (same) same.members.push(m);
    else if (opposite) {
      opposite.members.push(m);
      opposite.inverted.push(m);
    } else groups.push({ lead: m, members: [m], inverted: [], relative });
  }
  return groups;
}

const CONTEXT_WORDS: Record<ContextKey, string> = {
  params: 'the number of decayed weights P',
  n: 'the number of training examples N',
  batch: 'the batch size B',
  lr: 'the learning rate η',
  epochs: 'the number of epochs T',
  momentum: 'the momentum μ',
  widthMult: 'the width multiplier m',
};

/** The context a convention reads that changes along this axis (what makes it differ). */
export function varyingContext(m: Movement, optima: readonly ScaleOptimum[]): ContextKey[] {
  const conv = conventionOf(m);
  if (!conv) return [];
  return conv.needs.filter((k) => new Set(optima.map((o) => o.context[k])).size > 1);
}

function code(text: string): Segment {
  return { code: text };
}

/** `seed:lambda` (λ_E = c; 10 more equivalent here). */
function groupName(g: ConventionGroup): Segment[] {
  const formula = shortFormula(g.lead);
  const more = g.members.length > 1 ? `${g.members.length - 1} more equivalent here` : '';
  const note = [formula, more].filter((x) => x !== '').join('; ');
  return [code(conventionLabel(g.lead)), ...(note ? [` (${note})`] : [])];
}

/** The formula without its parenthetical gloss: `λ_E = c/P`. */
export function shortFormula(m: Pick<Movement, 'convention'>): string {
  return (conventionOf(m)?.formula ?? '').replace(/\s+\(.*\)\s*$/, '').trim();
}

function listJoin(parts: Segment[][], word = 'and'): Segment[] {
  const out: Segment[] = [];
  parts.forEach((p, i) => {
    if (i > 0) out.push(i === parts.length - 1 ? (parts.length > 2 ? `, ${word} ` : ` ${word} `) : ', ');
    out.push(...p);
  });
  return out;
}

/** Segments as plain text, names in backticks. */
export function plain(segments: readonly Segment[]): string {
  return segments.map((s) => (typeof s === 'string' ? s : `\`${s.code}\``)).join('');
}

/** Least movement first; ties (mirror-image conventions) keep the order of CONVENTIONS. */
function byAbsSlope(x: ConventionGroup, y: ConventionGroup): number {
  const d = Math.abs(x.lead.slope) - Math.abs(y.lead.slope);
  return Math.abs(d) < 1e-9 ? 0 : d;
}

/** Which of several undecided families moves least, said as no more than a lean. */
function leaning(ok: readonly ConventionGroup[]): Segment[] {
  if (ok.length < 2) return [];
  const sorted = [...ok].sort(byAbsSlope);
  const least = sorted[0], most = sorted[sorted.length - 1];
  if (Math.abs(most.lead.slope) - Math.abs(least.lead.slope) < least.lead.se) return [];
  return [' Taken at face value ', code(conventionLabel(least.lead)), ' moves least and ', code(conventionLabel(most.lead)), ' most, but their error bars overlap.'];
}

function significance(m: Movement): string {
  const z = Math.abs(m.slope) / m.se;
  if (z < 1) return 'consistent with not moving at all';
  if (z < 2) return 'not clearly different from zero';
  return 'clearly away from zero';
}

/** Why a non-transferring group fails: the context it ties the coefficient to. */
function whyNot(g: ConventionGroup, a: AxisAnalysis): string {
  const keys = varyingContext(g.lead, a.optima);
  if (keys.length === 0) return `holding it fixed does not transfer along ${a.axis}`;
  return `tying the coefficient to ${keys.map((k) => CONTEXT_WORDS[k]).join(' and ')} does not transfer along ${a.axis}`;
}

export function answerFor(a: AxisAnalysis): Answer {
  const base = { study: a.study, axis: a.axis };
  const sym = canonicalSymbol(a.optima[0]?.kind ?? 'coupled');
  if (a.optima.length === 0) {
    return { ...base, verdict: 'no-fit', paragraphs: [[`Study `, code(a.study), ` has no results yet.`]] };
  }
  if (a.movements.length === 0) {
    const list = listJoin(a.optima.map((o) => [`${axisValue(a, o.value)}: ${canonicalSymbol(o.kind)} = ${fmtCoef(o.optimum)} (± ${fmtSe(o.seLog2)} octaves)${o.atEdge ? ' at the grid edge' : ''}`]));
    const why = CATEGORICAL_AXES.includes(a.axis)
      ? `The ${a.axis} axis is categorical, so there is no doubling to fit a movement to.`
      : a.optima.length < 2
        ? `Only one value of ${a.axis} has results; a transfer needs at least two.`
        : `The values of ${a.axis} do not share one kind of coefficient, so no movement is fitted.`;
    return { ...base, verdict: 'no-fit', paragraphs: [[why, ' Best coefficient at each: ', ...list, '.']] };
  }

  const groups = conventionGroups(a);
  const ok = groups.filter((g) => g.lead.transfers);
  const bad = groups.filter((g) => !g.lead.transfers);
  const edges = a.optima.filter((o) => edgeStatus(o) === 'edge');
  const first = a.optima[0], last = a.optima[a.optima.length - 1];
  const span = `from ${axisValue(a, first.value)} to ${last.value}`;
  const paragraphs: Segment[][] = [];

  const badSentences = (): Segment[] => bad.flatMap((g) => [
    ' ', ...groupName(g), ` moved ${fmtSlope(g.lead)} (${fmtSigned(g.lead.total, g.lead.se)} octaves ${span}): ${whyNot(g, a)}.`,
  ]);

  let verdict: Verdict;
  if (ok.length === 1) {
    verdict = 'transfers';
    const g = ok[0];
    const range = Math.log2(Number(last.value) / Number(first.value));
    paragraphs.push([
      `Along ${a.axis}, hold `, ...groupName(g), ` fixed: its optimum moved ${fmtSlope(g.lead)} octaves per doubling of ${a.axis}`,
      ` (${fmtSigned(g.lead.total, g.lead.se)} octaves ${span}), ${significance(g.lead)}.`,
      ...(bad.length === 0 ? [` Every convention tested moves with it along ${a.axis} (none reads anything that changes here), so they transfer or fail together.`] : []),
      ...badSentences(),
      ...(g.lead.se * range > a.gridStep
        ? [` The uncertainty is still large (±${fmtSe(g.lead.se * range)} octaves over the range, more than the grid step of ${fmtSe(a.gridStep)}); more seeds would make this firmer.`]
        : []),
    ]);
  } else if (ok.length >= 2) {
    verdict = 'undecided';
    paragraphs.push([
      bad.length === 0
        ? `The data cannot decide between the conventions along ${a.axis}: every one moved less than its uncertainty or the grid step (${fmtSe(a.gridStep)} octaves). `
        : `The data cannot decide between ${ok.length} families of conventions along ${a.axis}: each moved less than its uncertainty or the grid step (${fmtSe(a.gridStep)} octaves). `,
      ...listJoin(ok.map((g) => [...groupName(g), ` ${fmtSlope(g.lead)}`])), ' octaves per doubling.',
      ...leaning(ok),
      ...badSentences(),
      ` More seeds, a finer or wider λ grid, or a wider range of ${a.axis} would tell them apart.`,
    ]);
  } else {
    verdict = 'moves';
    const least = [...groups].sort(byAbsSlope)[0];
    const canonical = groups.find((g) => g.members.some((m) => m.convention === 'seed' || m.convention === 'pytorch-adamw')) ?? groups[0];
    paragraphs.push([
      `No convention tested holds the optimum fixed along ${a.axis}. The one that moves least is `, ...groupName(least),
      `, at ${fmtSlope(least.lead)} octaves per doubling (${fmtSigned(least.lead.total, least.lead.se)} octaves ${span}). `,
      `Re-tune the coefficient at each ${a.axis}, or scale it as ${sym}* ∝ ${a.axis}^(${fmtSlope(canonical.lead)}), the fit of `,
      code(conventionLabel(canonical.lead)), '.',
      ...bad.filter((g) => g !== least).flatMap((g): Segment[] => [' ', ...groupName(g), ` moved ${fmtSlope(g.lead)}.`]),
    ]);
  }

  if (edges.length > 0) {
    verdict = 'undecided';
    const grid = `${fmtCoef(first.curve[0].coefficient)} to ${fmtCoef(first.curve[first.curve.length - 1].coefficient)}`;
    paragraphs.unshift([
      `The data cannot decide yet: at ${plain(listJoin(edges.map((o) => [`${axisValue(a, o.value)} (${edgeSide(o)} edge)`])))} the best ${sym} sits at the edge of the grid (${grid}), so the true optimum may lie outside it and the movements below are not reliable. Extend the `,
      code(first.kind === 'decoupled' ? 'decay' : 'lambda'), ' grid past that edge and run the study again (into a new directory).',
    ]);
  }
  const boundary = a.optima.filter((o) => edgeStatus(o) === 'boundary');
  if (boundary.length > 0) {
    paragraphs.push([`At ${plain(listJoin(boundary.map((o) => [`${axisValue(a, o.value)} (${edgeSide(o)} end)`])))} the fitted optimum ${edges.length ? 'also ' : ''}lands on the end of the grid (the grid minimum is next to the edge); a wider grid would make it firmer.`]);
  }
  return { ...base, verdict, paragraphs };
}

/** The answer as plain text, names in backticks (for the terminal). */
export function answerText(ans: Answer): string {
  return ans.paragraphs.map(plain).join('\n\n');
}
