/**
 * The report's tables as data, rendered by html.ts and markdown.ts alike so both show the
 * same numbers: the settings of each study, its coverage, the movement per convention, and
 * the optimum per scale value. Pure.
 */
import { CONVENTIONS, type Convention } from '../regularization/conventions.js';
import type { AxisAnalysis, ScaleOptimum } from '../study/analysis.js';
import type { StudyConfig, StudyFile } from '../study/config.js';
import type { TrialResult } from '../study/run-trial.js';
import { expandTrials } from '../study/trials.js';
import { conventionGroups, shortFormula } from './answer.js';
import { claimResults } from '../study/claims.js';
import { METRIC_LABELS } from '../study/metrics.js';
import {
  canonicalSymbol, conventionLabel, flagText, fmtCI, fmtCoef, fmtNumber, fmtPercent, fmtSe, fmtSigned,
} from './format.js';


/** Everything a report is made of. */
export interface ReportData {
  /** The study settings (study.json), when known. */
  study: StudyFile | null;
  results: readonly TrialResult[];
  analyses: readonly AxisAnalysis[];
  /** ISO time stamp shown in the report; omitted when absent. */
  generatedAt?: string;
  /** Notices about the inputs (e.g. an ignored torn line). */
  notes?: readonly string[];
  /** Per study, its analysis under each metric (final CE, best-epoch CE, final error), for the side-by-side table. */
  byMetric?: Readonly<Record<string, readonly AxisAnalysis[]>>;
}

/** A table cell: text, a name set as code (with plain text after it), or a warning. */
export type Cell = string | { code: string; after?: string } | { warn: string };

export interface Table {
  head: string[];
  rows: Cell[][];
  /** 'r' for numeric columns. */
  align: ('l' | 'r')[];
}

export function configFor(r: ReportData, study: string): StudyConfig | undefined {
  return r.study?.configs.find((c) => c.name === study);
}

function gridText(g: StudyConfig['lambda']): string {
  const step = Math.log2(g.max / g.min) / (g.points - 1);
  return `${fmtCoef(g.min)} to ${fmtCoef(g.max)}, ${g.points} points (${fmtSe(step)} octaves apart)`;
}

/** The settings of one study as label/value rows. */
export function settingsRows(c: StudyConfig): [string, Cell][] {
  const b = c.base;
  const usesAdam = b.optimizer === 'adam' || b.optimizer === 'adamw' || (c.axis === 'optimizer' && c.values.some((v) => v === 'adam' || v === 'adamw'));
  const usesDecay = b.optimizer === 'adamw' || (c.axis === 'optimizer' && c.values.includes('adamw'));
  const rows: [string, Cell][] = [
    ['axis', c.axis],
    ['values', c.values.join(', ')],
    ['λ_E grid (coupled)', gridText(c.lambda)],
    ...(usesDecay ? [['AdamW c grid (decoupled)', gridText(c.decay)] as [string, Cell]] : []),
    ['seeds', c.seeds.join(', ')],
    b.hidden !== undefined ? ['hidden layers', b.hidden.join(' × ')] : ['network', b.arch ?? ''],
    ['optimizer', b.optimizer + (b.optimizer === 'momentum' ? ` (μ = ${b.momentum})` : '')],
    ['learning rate', String(b.lr) + (usesAdam ? ` (Adam/AdamW: ${b.adamLr})` : '')],
    ['batch size', String(b.batch)],
    ['training rows', b.trainSize === 0 ? 'all (after the validation split)' : String(b.trainSize)],
    ['validation rows', String(b.validation)],
    ['budget', c.budget.epochs !== undefined ? `${c.budget.epochs} epochs` : `${c.budget.steps} steps`],
  ];
  return rows;
}

/** Trials expected, found and diverged for one study. */
export interface Coverage {
  /** Trials the study's grid holds now (passes so far), or null without study.json. */
  expected: number | null;
  /** Of those, finished. */
  found: number;
  /** Finished trials at points the grid no longer has (an earlier, wider grid): kept and used. */
  extra: number;
  diverged: number;
}

export function coverage(r: ReportData, study: string): Coverage {
  const mine = r.results.filter((x) => x.trial.study === study);
  const c = configFor(r, study);
  const diverged = mine.filter((x) => x.diverged).length;
  if (!c || !r.study) return { expected: null, found: mine.length, extra: 0, diverged };
  const ids = new Set(expandTrials(c, { label: r.study.data, classes: r.study.classes }, r.results).map((t) => t.id));
  const found = mine.filter((x) => ids.has(x.id)).length;
  return { expected: ids.size, found, extra: mine.length - found, diverged };
}

/** The coverage line of a study, the same in HTML and Markdown (the caller escapes and marks up the warning). */
export function coverageText(cov: Coverage): { text: string; warning: string | null } {
  const missing = cov.expected !== null ? cov.expected - cov.found : 0;
  return {
    text: `${cov.found} trial${cov.found === 1 ? '' : 's'}${cov.expected !== null ? ` of ${cov.expected}` : ''}` +
      `${cov.extra > 0 ? `, and ${cov.extra} at points of an earlier grid (used too)` : ''}${cov.diverged ? `, ${cov.diverged} diverged (counted as infinite)` : ''}.`,
    warning: missing > 0 ? `${missing} trials are missing: the study is unfinished and these numbers may change.` : null,
  };
}

/** One row per convention: its movement with the 95% interval, the verdict, and what its rule predicts for the canonical optimum. */
export function movementsTable(a: AxisAnalysis): Table {
  const groups = conventionGroups(a);
  const sym = canonicalSymbol(a.optima[0]?.kind ?? 'coupled');
  const used = a.optima.filter((o) => o.flag === null);
  const first = used[0]?.value, last = used[used.length - 1]?.value;
  return {
    head: ['convention', 'canonical value', `octaves per doubling [95% interval]`, `total, ${first} → ${last}`, 'verdict', `${sym} slope its rule predicts`, 'moves with'],
    align: ['l', 'l', 'r', 'r', 'l', 'r', 'l'],
    // Families together (the order of their leads), each in the order of CONVENTIONS.
    rows: groups.flatMap((g) => g.members).map((m) => {
      const g = groups.find((x) => x.members.includes(m));
      return [
        { code: conventionLabel(m) }, shortFormula(m), fmtCI(m), fmtSigned(m.total, m.se), m.verdict,
        Number.isFinite(m.ruleSlope) ? fmtSigned(m.ruleSlope, 0.01) : '–',
        g && g.lead !== m ? { code: conventionLabel(g.lead), after: g.inverted.includes(m) ? ' (inverse)' : '' } : '',
      ];
    }),
  };
}

/** The literature's predictions for this axis, each tested against the measured interval. */
export function claimsTable(a: AxisAnalysis): Table {
  return {
    head: ['claim', 'source', 'convention', 'predicted', 'measured [95% interval]', 'outcome'],
    align: ['l', 'l', 'l', 'r', 'r', 'l'],
    rows: claimResults(a).map((r) => [
      r.claim.text, r.claim.source, { code: conventionLabel(r.movement) }, fmtSigned(r.claim.predicted, 0.001), fmtCI(r.movement),
      r.outcome === 'holds' ? 'holds' : r.outcome === 'fails' ? { warn: 'fails' } : 'untested (interval too wide)',
    ]),
  };
}

/** One row per scale value: the optimum, its uncertainty, and what the model looks like there. */
export function optimaTable(a: AxisAnalysis): Table {
  const sym = canonicalSymbol(a.optima[0]?.kind ?? 'coupled');
  const mixed = a.optima.some((o) => o.kind !== a.optima[0]?.kind);
  return {
    head: [a.axis, mixed ? 'optimum (λ_E or c)' : `optimum ${sym}`, '± (octaves)', '±1 se range', `${METRIC_LABELS[a.metric]} there`, 'penalty share of loss', 'Σw² there', 'note'],
    align: ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
    rows: a.optima.map((o) => [
      String(o.value),
      `${mixed ? `${canonicalSymbol(o.kind)} = ` : ''}${fmtCoef(o.optimum)}`,
      `± ${fmtSe(o.seLog2)}`,
      `${fmtCoef(o.optimum * Math.pow(2, -o.seLog2))} – ${fmtCoef(o.optimum * Math.pow(2, o.seLog2))}`,
      Number.isFinite(o.metricAtOptimum) ? o.metricAtOptimum.toFixed(4) : '–',
      fmtPercent(o.penaltyShare),
      fmtNumber(o.weightNormSq, 4),
      o.flag ? { warn: flagText(o) } : flagText(o),
    ]),
  };
}

/** Per scale value: does tuned L2 change the error rate or only calibration, and what early stopping alone gets. */
export function calibrationTable(a: AxisAnalysis): Table {
  const pct = (v: number) => fmtPercent(v, 2);
  const pm = (d: number, se: number, f: (v: number) => string) => `${d >= 0 ? '+' : ''}${f(d)} ± ${f(se)}`;
  return {
    head: [a.axis, 'val error at optimum', 'at smallest coefficient', 'difference ± se', 'final val CE at optimum', 'best-epoch CE at smallest (early stopping)', 'difference ± se'],
    align: ['r', 'r', 'r', 'r', 'r', 'r', 'r'],
    rows: a.calibration.map((r) => [
      String(r.value), pct(r.errorAtOptimum), pct(r.errorAtSmallest), pm(r.errorDiff, r.errorDiffSe, pct),
      r.ceAtOptimum.toFixed(4), r.earlyStopCe.toFixed(4), pm(r.earlyStopDiff, r.earlyStopDiffSe, (v) => v.toFixed(4)),
    ]),
  };
}

/** The same study under each metric: the canonical optimum's movement and where each optimum lands. */
export function metricsTable(byMetric: readonly AxisAnalysis[]): Table {
  const a0 = byMetric[0];
  const canon = (a: AxisAnalysis) => a.movements.find((m) => m.convention === 'seed' || m.convention === 'pytorch-adamw');
  return {
    head: ['metric', `${canonicalSymbol(a0?.optima[0]?.kind ?? 'coupled')} octaves per doubling [95%]`, 'verdict', ...(a0?.optima ?? []).map((o) => `optimum at ${a0.axis} ${o.value}`)],
    align: ['l', 'r', 'l', ...(a0?.optima ?? []).map(() => 'r' as const)],
    rows: byMetric.map((a) => {
      const m = canon(a);
      return [METRIC_LABELS[a.metric], m ? fmtCI(m) : '–', m?.verdict ?? '–', ...a.optima.map((o) => `${fmtCoef(o.optimum)}${o.flag ? ' ⚠' : ''}`)];
    }),
  };
}

/** The conventions an optimum of this kind converts to without crossing kinds (as analyze). */
export function conventionsOfKind(kind: ScaleOptimum['kind']): Convention[] {
  return CONVENTIONS.filter((c) => c.kind === kind && c.per !== 'mup');
}

/** The optimum in one convention at one scale value. */
export function inConvention(conv: Convention, o: ScaleOptimum): number {
  const ctx = { lr: NaN, batch: NaN, n: NaN, params: NaN, epochs: NaN, widthMult: 1, momentum: 0, ...o.context };
  return conv.fromCanonical(o.optimum, ctx);
}

/** The optimum in every convention (rows) at every scale value (columns). */
export function everyConventionTable(a: AxisAnalysis): Table {
  const kinds = [...new Set(a.optima.map((o) => o.kind))];
  const convs = kinds.flatMap(conventionsOfKind);
  return {
    head: ['convention', 'canonical value', ...a.optima.map((o) => `${a.axis} ${o.value}`)],
    align: ['l', 'l', ...a.optima.map(() => 'r' as const)],
    rows: convs.map((c) => [
      { code: `${c.id}:${c.param}` }, shortFormula({ convention: c.id }),
      ...a.optima.map((o) => (o.kind === c.kind ? fmtCoef(inConvention(c, o)) : '–')),
    ]),
  };
}
