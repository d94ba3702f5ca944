/**
 * Number formatting shared by the HTML, Markdown and plain-text outputs, so the same quantity
 * reads the same everywhere. Pure.
 */
import { findConvention, type Convention } from '../regularization/conventions.js';
import type { AxisAnalysis, Movement, ScaleOptimum } from '../study/analysis.js';

/** A coefficient with 3 significant digits: `4.39e-4`, `0.0316`, `12.5`. */
export function fmtCoef(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e-2 && a < 1e4) return String(Number(v.toPrecision(3)));
  const [mant, exp] = v.toExponential(2).split('e');
  return `${String(Number(mant))}e${Number(exp)}`;
}

/** Decimals for octaves: one when the uncertainty is a tenth of an octave or more, else two. */
function octDecimals(se: number): number {
  return Number.isFinite(se) && se < 0.095 ? 2 : 1;
}

/** A signed amount of octaves, `+1.1` or `-0.3` (zero unsigned). */
export function fmtSigned(v: number, se = 1): string {
  const s = v.toFixed(octDecimals(se));
  if (Number(s) === 0) return (0).toFixed(octDecimals(se));
  return v > 0 ? `+${s}` : s;
}

/** An uncertainty in octaves, at the same precision as its value. */
export function fmtSe(se: number): string {
  return se.toFixed(octDecimals(se));
}

/** `+1.1 ± 0.7`. */
export function fmtSlope(m: Pick<Movement, 'slope' | 'se'>): string {
  return `${fmtSigned(m.slope, m.se)} ± ${fmtSe(m.se)}`;
}

export function fmtPercent(v: number, digits = 1): string {
  return Number.isFinite(v) ? `${(100 * v).toFixed(digits)}%` : '–';
}

export function fmtNumber(v: number, digits = 3): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(digits))) : '–';
}

/** `per-weight:c`, the way a coefficient is written on the command line. */
export function conventionLabel(m: Pick<Movement, 'convention' | 'param'>): string {
  return `${m.convention}:${m.param}`;
}

export function conventionOf(m: Pick<Movement, 'convention'>): Convention | null {
  try {
    return findConvention(m.convention);
  } catch {
    return null;
  }
}

/** The canonical coefficient of a kind, as a symbol and in words. */
export function canonicalSymbol(kind: ScaleOptimum['kind']): string {
  return kind === 'decoupled' ? 'c' : 'λ_E';
}

export function canonicalName(kind: ScaleOptimum['kind']): string {
  return kind === 'decoupled'
    ? 'c, AdamW weight decay (each step shrinks w by η·c)'
    : 'λ_E, the L2 coefficient in E = mean CE + λ_E·Σw²';
}

/** `width 64`, `batch 128`, `optimizer adam`. */
export function axisValue(a: Pick<AxisAnalysis, 'axis'>, value: number | string): string {
  return `${a.axis} ${value}`;
}

/** Which end of the tried coefficients an optimum sits nearer to. */
export function edgeSide(o: ScaleOptimum): 'lower' | 'upper' {
  const lo = o.curve[0]?.coefficient ?? o.optimum, hi = o.curve[o.curve.length - 1]?.coefficient ?? o.optimum;
  return Math.abs(Math.log2(o.optimum / lo)) <= Math.abs(Math.log2(o.optimum / hi)) ? 'lower' : 'upper';
}

/** Why an optimum is left out of the slope, in words; '' when it is used. */
export function flagText(o: ScaleOptimum): string {
  switch (o.flag) {
    case 'edge': return `at the ${edgeSide(o)} edge of the coefficients tried: the optimum may lie beyond; left out of the slope`;
    case 'outside': return 'the fitted vertex falls outside the points it was fitted to; left out of the slope';
    default: return o.by === 'grid' ? 'flat near the minimum: located at the grid point' : '';
  }
}

/** `+0.03 [−0.10, +0.16]`: a slope with its 95% interval. */
export function fmtCI(m: Pick<Movement, 'slope' | 'se' | 'ci'>): string {
  if (!Number.isFinite(m.slope)) return '–';
  return `${fmtSigned(m.slope, m.se)} [${fmtSigned(m.ci[0], m.se)}, ${fmtSigned(m.ci[1], m.se)}]`;
}
