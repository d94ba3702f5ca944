/**
 * The plain-language answer to a study: which convention to hold fixed along the axis, how
 * sure the data is, and when it cannot tell. Every number and every verdict comes from the
 * analysis; the words only say what the numbers say. Pure.
 */
import type { ContextKey } from '../regularization/conventions.js';
import { MIN_CURVE_POINTS, TRANSFER_BAND, type AxisAnalysis, type Movement, type ScaleOptimum } from '../study/analysis.js';
import { CATEGORICAL_AXES } from '../study/config.js';
import { mean, t975 } from '../study/stats.js';
import { METRIC_LABELS } from '../study/metrics.js';
import {
  axisValue, canonicalSymbol, conventionLabel, conventionOf, flagText, fmtCI, fmtCoef, fmtSe, fmtSigned,
} from './format.js';

/** A piece of answer text: plain words, or a name to set as code. */
export type Segment = string | { code: string };

export type Verdict =
  /** A family of conventions holds the optimum fixed: its 95% interval lies within the transfer band. */
  | 'transfers'
  /** No family transfers, and some cannot be told from transferring. */
  | 'undecided'
  /** Every family moves: the optimum has to be re-tuned (or scaled) along the axis. */
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

/** `seed:lambda` (λ_E = c; with 10 others, the same up to a fixed factor here). */
function groupName(g: ConventionGroup): Segment[] {
  const formula = shortFormula(g.lead);
  const more = g.members.length > 1 ? `with ${g.members.length - 1} other${g.members.length > 2 ? 's' : ''}, the same up to a fixed factor here` : '';
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

/** Why a group moves: the context it ties the coefficient to. */
function whyNot(g: ConventionGroup, a: AxisAnalysis): string {
  const keys = varyingContext(g.lead, a.optima);
  if (keys.length === 0) return `holding it fixed does not transfer along ${a.axis}`;
  return `tying the coefficient to ${keys.map((k) => CONTEXT_WORDS[k]).join(' and ')} does not transfer along ${a.axis}`;
}

const per = (a: AxisAnalysis) => (a.axis === 'tpp' ? 'per doubling of samples per parameter' : `per doubling of ${a.axis}`);

/** The canonical family (λ_E, or AdamW's c), for "scale it as …". */
function canonicalGroup(groups: readonly ConventionGroup[]): ConventionGroup {
  return groups.find((g) => g.members.some((m) => m.convention === 'seed' || m.convention === 'pytorch-adamw')) ?? groups[0];
}

export function answerFor(a: AxisAnalysis): Answer {
  const ans = measuredAnswer(a);
  if (a.pending.length === 0) return ans;
  const values = a.pending.map((v) => axisValue(a, v)).join(', ');
  return { ...ans, paragraphs: [...ans.paragraphs, [`Not in these numbers yet: ${values} (fewer than ${MIN_CURVE_POINTS} coefficients finished by every seed there; the study is still running).`]] };
}

function measuredAnswer(a: AxisAnalysis): Answer {
  const base = { study: a.study, axis: a.axis };
  if (a.optima.length === 0) {
    return { ...base, verdict: 'no-fit', paragraphs: [[`Study `, code(a.study), ` has no results yet.`]] };
  }
  if (a.movements.length === 0) {
    const list = listJoin(a.optima.map((o) => [`${axisValue(a, o.value)}: ${canonicalSymbol(o.kind)} = ${fmtCoef(o.optimum)} (± ${fmtSe(o.seLog2)} octaves)${o.flag ? ` (${flagText(o)})` : ''}`]));
    const why = CATEGORICAL_AXES.includes(a.axis)
      ? `The ${a.axis} axis is categorical, so there is no doubling to fit a movement to.`
      : a.optima.length < 2
        ? `Only one value of ${a.axis} has results; a movement needs at least two.`
        : `The values of ${a.axis} do not share one kind of coefficient, so no movement is fitted.`;
    return { ...base, verdict: 'no-fit', paragraphs: [[why, ' Best coefficient at each: ', ...list, '.'], ...categoricalDifferences(a)] };
  }

  const groups = conventionGroups(a);
  const ok = groups.filter((g) => g.lead.verdict === 'transfers');
  const moving = groups.filter((g) => g.lead.verdict === 'moves');
  const unsure = groups.filter((g) => g.lead.verdict === 'undecided');
  const used = a.optima.filter((o) => o.flag === null);
  const flagged = a.optima.filter((o) => o.flag !== null);
  const paragraphs: Segment[][] = [];
  if (used.length < 2) {
    paragraphs.push([`The data cannot answer along ${a.axis} yet: only ${used.length} of ${a.optima.length} optima could be located (${flagged.map((o) => `${axisValue(a, o.value)}: ${flagText(o)}`).join('; ')}).`]);
    return { ...base, verdict: 'undecided', paragraphs };
  }
  const first = used[0], last = used[used.length - 1];
  const span = `from ${axisValue(a, first.value)} to ${last.value}`;
  const band = `±${TRANSFER_BAND}`;
  let verdict: Verdict;
  if (ok.length > 0) {
    verdict = 'transfers';
    paragraphs.push([
      `Along ${a.axis}, hold `, ...listJoin(ok.map(groupName), 'or'), ` fixed: its optimum moved ${fmtCI(ok[0].lead)} octaves ${per(a)} (95% interval, inside the ${band} band that counts as not moving; ${fmtSigned(ok[0].lead.total, ok[0].lead.se)} octaves ${span}).`,
    ]);
  } else if (unsure.length === 0) {
    verdict = 'moves';
    const least = [...groups].sort(byAbsSlope)[0];
    const canonical = canonicalGroup(groups);
    paragraphs.push([
      `No convention tested holds the optimum fixed along ${a.axis}: every one moves, its 95% interval excluding 0. The least movement is `, ...groupName(least),
      `'s, ${fmtCI(least.lead)} octaves ${per(a)}. Re-tune at each ${a.axis}, or scale the coefficient as ${canonicalSymbol(first.kind)}* ∝ ${a.axis === 'tpp' ? 'TPP' : a.axis}^(${fmtSigned(canonical.lead.slope, canonical.lead.se)}), the fit of `,
      code(conventionLabel(canonical.lead)), '.',
    ]);
  } else {
    verdict = 'undecided';
    paragraphs.push([
      `The data cannot yet say which convention transfers along ${a.axis}: `,
      ...listJoin(unsure.map((g) => [...groupName(g), ` moved ${fmtCI(g.lead)}`])),
      ` octaves ${per(a)}; ${unsure.length === 1 ? 'its interval straddles' : 'each interval straddles'} the edge of the ${band} band. More seeds or a wider range of ${a.axis} would decide.`,
    ]);
  }
  const rest = [...(verdict === 'moves' ? [] : moving), ...(verdict === 'undecided' ? [] : unsure)];
  for (const g of rest) {
    paragraphs[0].push(' ', ...groupName(g), g.lead.verdict === 'moves'
      ? ` moves ${fmtCI(g.lead)}: ${whyNot(g, a)}.`
      : ` is undecided at ${fmtCI(g.lead)}.`);
  }
  if (flagged.length > 0) {
    paragraphs.push([`Left out of the slope: ${flagged.map((o) => `${axisValue(a, o.value)} (${flagText(o).replace(/; left out of the slope$/, '')})`).join('; ')}.`]);
  }
  const lead = canonicalGroup(groups).lead;
  if (lead.inflation > 1.2) {
    paragraphs.push([`The optima scatter about a straight line more than their own error bars allow (χ² = ${lead.chi2.toFixed(1)} on ${lead.dof} degrees of freedom), so every interval here is widened ×${lead.inflation.toFixed(1)}: the movement is not one power law.`]);
  }
  paragraphs.push(...calibrationParagraph(a));
  return { ...base, verdict, paragraphs };
}

/** On a categorical axis: how far each value's optimum is from the first's, with a 95% interval. */
function categoricalDifferences(a: AxisAnalysis): Segment[][] {
  if (!CATEGORICAL_AXES.includes(a.axis) || a.optima.length < 2) return [];
  const ref = a.optima[0];
  const q = t975(a.df);
  const parts = a.optima.slice(1).filter((o) => o.kind === ref.kind).map((o) => {
    const d = Math.log2(o.optimum / ref.optimum), se = Math.hypot(o.seLog2, ref.seLog2);
    const differs = Math.abs(d) > q * se;
    return `${axisValue(a, o.value)}: ${fmtSigned(d, se)} octaves [${fmtSigned(d - q * se, se)}, ${fmtSigned(d + q * se, se)}] from ${axisValue(a, ref.value)} (${differs ? 'different' : 'not distinguishable'})`;
  });
  return parts.length ? [[`Optimum relative to ${axisValue(a, ref.value)}, 95% intervals: ${parts.join('; ')}.`]] : [];
}

/** Does L2 change accuracy or only calibration here, and what does early stopping alone get? */
function calibrationParagraph(a: AxisAnalysis): Segment[][] {
  const rows = a.calibration.filter((r) => Number.isFinite(r.errorDiff));
  if (rows.length === 0) return [];
  const clearErr = rows.filter((r) => Math.abs(r.errorDiff) > 2 * r.errorDiffSe);
  const ceGain = rows.map((r) => r.ceAtOptimum - r.earlyStopCe);
  const esBetter = rows.filter((r) => r.earlyStopDiff > 2 * r.earlyStopDiffSe);
  const pct = (v: number) => `${(100 * v).toFixed(2)} points`;
  const errWords = clearErr.length === 0
    ? `At every ${a.axis} the tuned coefficient leaves the validation error rate where the smallest one has it (differences ${rows.map((r) => pct(r.errorDiff)).join(', ')}, each within two standard errors): here L2 changes calibration (the cross-entropy), not accuracy.`
    : `The coefficient tuned for the ${METRIC_LABELS[a.metric]} changes the validation error rate against the smallest coefficient at ${clearErr.length} of ${rows.length} values of ${a.axis} (${clearErr.map((r) => `${r.errorDiff > 0 ? 'raising' : 'lowering'} it by ${pct(Math.abs(r.errorDiff))} at ${r.value}`).join(', ')}).`;
  const esWords = esBetter.length > 0
    ? ` Early stopping at the smallest coefficient (its best epoch's CE) beats tuned L2's final CE at ${esBetter.length} of ${rows.length} values.`
    : ` Tuned L2's final CE is ${mean(ceGain) < 0 ? 'below' : 'above'} what early stopping alone reaches at the smallest coefficient (by ${Math.abs(mean(ceGain)).toFixed(3)} nats on average).`;
  return [[errWords + esWords]];
}

/**
 * Bengio (2012) §3.1 in one paragraph: why "scale weight decay by the number of minibatches"
 * is bookkeeping between a summed and a mean criterion. The arithmetic is the bengio:c
 * convention's (λ_E = c/N).
 */
export const BENGIO_WHY: Segment[] = [
  'Bengio (2012) writes the training criterion summed over the dataset, C = Σᵢ ℓᵢ + c·Σw². A minibatch step sees B of the N examples, ',
  'so it carries the data term of B examples and the penalty with weight B/N: over an epoch of N/B minibatches the penalty adds up to c·Σw² once. ',
  'That is the "scaling by the number of minibatches". Divide C by N and it is the seed objective, mean CE + λ_E·Σw² with λ_E = c/N (',
  { code: 'bengio:c' }, '). The two are one penalty in two units; neither says how the best value moves with N. The data studies measure that.',
];

/**
 * The asker's questions, answered from whichever studies are present: whether to divide λ by
 * the number of weights (a coupled width study), and what Bengio's minibatch scaling means,
 * with the data studies' measurement. Every number comes from the analyses.
 */
export function headline(analyses: readonly AxisAnalysis[]): Segment[][] {
  const out: Segment[][] = [];
  const width = analyses.find((a) => a.axis === 'width' && a.optima[0]?.kind === 'coupled' && a.movements.length > 0);
  const find = (a: AxisAnalysis | undefined, id: string) => a?.movements.find((m) => m.convention === id);
  const seed = find(width, 'seed'), perWeight = find(width, 'per-weight');
  if (width && seed && perWeight) {
    const said = `(study ${width.study}: λ_E moved ${fmtCI(seed)} octaves per doubling of width, 95% interval; λ_E·P, the per-weight coefficient, ${fmtCI(perWeight)}).`;
    if (seed.verdict === 'transfers' && perWeight.verdict === 'moves') {
      out.push([`Should λ be divided by the number of weights? No: keep λ_E fixed as the network widens; dividing it by the number of weights P makes the penalty fade as P grows, and the best per-weight coefficient climbs instead ${said}`]);
    } else if (perWeight.verdict === 'transfers' && seed.verdict === 'moves') {
      out.push([`Should λ be divided by the number of weights? Here, yes: the per-weight coefficient λ_E·P holds across width and λ_E does not ${said}`]);
    } else {
      out.push([`Should λ be divided by the number of weights? The data cannot decide: neither λ_E nor λ_E·P is clearly held fixed and the other clearly moving ${said}`]);
    }
  }
  out.push([`Why does Bengio scale weight decay with the number of minibatches? `, ...BENGIO_WHY]);
  for (const a of analyses.filter((x) => x.axis === 'data' && x.movements.length > 0)) {
    const canon = find(a, a.optima[0].kind === 'coupled' ? 'seed' : 'pytorch-adamw');
    const bengio = find(a, a.optima[0].kind === 'coupled' ? 'bengio' : 'timescale');
    if (!canon || !bengio) continue;
    const sym = canonicalSymbol(a.optima[0].kind);
    const rule = a.optima[0].kind === 'coupled' ? `Bengio's c = λ_E·N` : 'the AdamW timescale B/(η·c·N)';
    out.push([`Study ${a.study}: along N the best ${sym} moved ${fmtCI(canon)} octaves per doubling; holding ${rule} fixed predicts ${fmtSigned(bengio.ruleSlope, 0.01)}, and the difference is ${fmtCI(bengio)} (${bengio.verdict === 'transfers' ? 'the rule holds' : bengio.verdict === 'moves' ? 'the rule does not hold' : 'not decided'}).`]);
  }
  return out;
}

/** The answer as plain text, names in backticks (for the terminal). */
export function answerText(ans: Answer): string {
  return ans.paragraphs.map(plain).join('\n\n');
}
