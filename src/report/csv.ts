/**
 * The report's data as CSV (RFC 4180, quoted where needed): the optimum at each scale value in
 * every convention, and every trial result flattened to one row. Pure.
 */
import type { AxisAnalysis } from '../study/analysis.js';
import type { TrialResult } from '../study/run-trial.js';
import { csvRow } from './escape.js';
import { conventionsOfKind, inConvention } from './tables.js';

const OPTIMA_COLUMNS = [
  'study', 'axis', 'metric', 'value', 'kind', 'canonical_optimum', 'se_log2', 'flag', 'metric_at_optimum', 'penalty_share', 'weight_norm_sq',
  'convention', 'param', 'coefficient', 'octaves_from_first', 'octaves_per_doubling', 'octaves_per_doubling_se', 'ci_low', 'ci_high', 'verdict',
] as const;

/**
 * One row per (study, scale value, convention). `octaves_from_first` is log2 of the optimum
 * over the optimum at the study's first scale value in the same convention; the movement
 * columns repeat the convention's fit (empty on a categorical axis).
 */
export function optimaCsv(analyses: readonly AxisAnalysis[]): string {
  const lines: string[] = [csvRow(OPTIMA_COLUMNS)];
  for (const a of analyses) {
    for (const o of a.optima) {
      for (const conv of conventionsOfKind(o.kind)) {
        const m = a.movements.find((x) => x.convention === conv.id);
        const firstOfKind = a.optima.find((x) => x.kind === o.kind)!;
        const coefficient = inConvention(conv, o);
        lines.push(csvRow([
          a.study, a.axis, a.metric, o.value, o.kind, o.optimum, o.seLog2, o.flag ?? '', o.metricAtOptimum, o.penaltyShare, o.weightNormSq,
          conv.id, conv.param, coefficient,
          m ? Math.log2(coefficient / inConvention(conv, firstOfKind)) : null,
          m?.slope ?? null, m?.se ?? null, m?.ci[0] ?? null, m?.ci[1] ?? null, m?.verdict ?? null,
        ]));
      }
    }
  }
  return lines.join('\r\n') + '\r\n';
}

/** Flattens nested objects to dotted keys; arrays stay whole (as JSON, e.g. `[64,64]`). */
function flatten(value: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(value)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, key, out);
    else out[key] = v;
  }
  return out;
}

/** All trial results, one row each; columns are the union of fields in first-seen order. */
export function trialsCsv(results: readonly TrialResult[]): string {
  const rows = results.map((r) => {
    const { trial, ...rest } = r;
    // The trial's id and study first; `trial.id` repeats `id`.
    const { id: _id, ...settings } = trial;
    return flatten({ ...rest, trial: settings });
  });
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) for (const k of Object.keys(row)) if (!seen.has(k)) { seen.add(k); columns.push(k); }
  const order = (k: string) => (k === 'id' ? 0 : k === 'trial.study' ? 1 : k.startsWith('trial.') ? 2 : 3);
  columns.sort((x, y) => order(x) - order(y));
  return [csvRow(columns), ...rows.map((row) => csvRow(columns.map((c) => row[c])))].join('\r\n') + '\r\n';
}
