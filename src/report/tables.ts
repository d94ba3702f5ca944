/**
 * The report's tables as data, rendered by html.ts and markdown.ts alike so both show the
 * same numbers: the settings of each study, its coverage, the movement per convention, and
 * the optimum per scale value. Pure.
 */
import { CONVENTIONS, type Convention } from '../regularization/conventions.js';
import type { AxisAnalysis, ScaleOptimum } from '../study/analysis.js';
import type { StudyConfig } from '../study/config.js';
import type { TrialResult } from '../study/run-trial.js';
import { expandTrials } from '../study/trials.js';
import { conventionGroups, shortFormula } from './answer.js';
import {
  canonicalSymbol, conventionLabel, edgeSide, edgeStatus, fmtCoef, fmtNumber, fmtPercent, fmtSe, fmtSigned, fmtSlope,
} from './format.js';

/** What `study.json` holds. */
export interface StudyFile {
  data: string;
  configs: StudyConfig[];
}

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
    ['hidden layers', b.hidden.join(' × ')],
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
export function coverage(r: ReportData, study: string): { expected: number | null; found: number; diverged: number } {
  const mine = r.results.filter((x) => x.trial.study === study);
  const c = configFor(r, study);
  const expected = c && r.study ? expandTrials(c, r.study.data).length : null;
  return { expected, found: mine.length, diverged: mine.filter((x) => x.diverged).length };
}

/** One row per convention: how far its optimum moves per doubling, and whether it transfers. */
export function movementsTable(a: AxisAnalysis): Table {
  const groups = conventionGroups(a);
  const first = a.optima[0]?.value, last = a.optima[a.optima.length - 1]?.value;
  return {
    head: ['convention', 'canonical value', 'octaves per doubling (± se)', `total, ${a.axis} ${first} → ${last} (octaves)`, 'transfers', 'moves with'],
    align: ['l', 'l', 'r', 'r', 'l', 'l'],
    // Families together (the order of their leads), each in the order of CONVENTIONS.
    rows: groups.flatMap((g) => g.members).map((m) => {
      const g = groups.find((x) => x.members.includes(m));
      return [
        { code: conventionLabel(m) }, shortFormula(m), fmtSlope(m), fmtSigned(m.total, m.se),
        m.transfers ? 'yes' : 'no',
        g && g.lead !== m ? { code: conventionLabel(g.lead), after: g.inverted.includes(m) ? ' (inverse)' : '' } : '',
      ];
    }),
  };
}

/** One row per scale value: the optimum, its uncertainty, and what the model looks like there. */
export function optimaTable(a: AxisAnalysis): Table {
  const sym = canonicalSymbol(a.optima[0]?.kind ?? 'coupled');
  const mixed = a.optima.some((o) => o.kind !== a.optima[0]?.kind);
  return {
    head: [a.axis, mixed ? 'optimum (λ_E or c)' : `optimum ${sym}`, '± (octaves)', '±1 se range', 'val CE at optimum', 'penalty share of loss', 'Σw² at optimum', 'note'],
    align: ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
    rows: a.optima.map((o) => [
      String(o.value),
      `${mixed ? `${canonicalSymbol(o.kind)} = ` : ''}${fmtCoef(o.optimum)}`,
      `± ${fmtSe(o.seLog2)}`,
      `${fmtCoef(o.optimum * Math.pow(2, -o.seLog2))} – ${fmtCoef(o.optimum * Math.pow(2, o.seLog2))}`,
      Number.isFinite(o.valCe) ? o.valCe.toFixed(4) : '–',
      fmtPercent(o.penaltyShare),
      fmtNumber(o.weightNormSq, 4),
      optimumNote(o),
    ]),
  };
}

function optimumNote(o: ScaleOptimum): Cell {
  switch (edgeStatus(o)) {
    case 'edge': return { warn: `at the ${edgeSide(o)} edge of the grid: the true optimum may lie beyond it` };
    case 'boundary': return { warn: `fit reaches the ${edgeSide(o)} end of the grid` };
    default: return '';
  }
}

/** The conventions an optimum of this kind converts to without crossing kinds (as analyze). */
export function conventionsOfKind(kind: ScaleOptimum['kind']): Convention[] {
  return CONVENTIONS.filter((c) => c.kind === kind && c.per !== 'mup');
}

/** The optimum in one convention at one scale value. */
export function inConvention(conv: Convention, o: ScaleOptimum): number {
  const ctx = { lr: NaN, batch: NaN, n: NaN, params: NaN, epochs: NaN, widthMult: NaN, momentum: 0, ...o.context };
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
