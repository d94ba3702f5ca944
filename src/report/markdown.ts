/**
 * The report's answer and tables as Markdown (GitHub-flavoured), for a README or an issue.
 * The plots live in report.html. Every user-supplied string is escaped. Pure.
 */
import { TRANSFER_BAND } from '../study/analysis.js';
import { METRIC_WHY } from '../study/metrics.js';
import { answerFor, headline, type Segment } from './answer.js';
import { escapeMarkdown, markdownCode } from './escape.js';
import { canonicalName } from './format.js';
import {
  calibrationTable, claimsTable, configFor, coverage, coverageText, metricsTable, movementsTable, optimaTable, settingsRows, type Cell, type ReportData, type Table,
} from './tables.js';

export function segmentsMarkdown(segments: readonly Segment[]): string {
  return segments.map((s) => (typeof s === 'string' ? escapeMarkdown(s) : markdownCode(s.code))).join('');
}

function cellMarkdown(c: Cell): string {
  if (typeof c === 'string') return escapeMarkdown(c);
  if ('code' in c) return markdownCode(c.code, true) + escapeMarkdown(c.after ?? '');
  return `⚠ ${escapeMarkdown(c.warn)}`;
}

export function tableMarkdown(t: Table): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    line(t.head.map((h) => escapeMarkdown(h))),
    line(t.align.map((a) => (a === 'r' ? '---:' : ':---'))),
    ...t.rows.map((row) => line(row.map(cellMarkdown))),
  ].join('\n');
}

export function renderMarkdown(r: ReportData): string {
  const out: string[] = [];
  const data = r.study?.data ?? [...new Set(r.results.map((x) => x.trial.data))].join(', ');
  out.push('# ridgeline study report', '');
  out.push(`Data: ${escapeMarkdown(data || 'unknown')} · ${r.results.length} trials${r.generatedAt ? ` · generated ${escapeMarkdown(r.generatedAt)}` : ''}`, '');
  for (const n of r.notes ?? []) out.push(`> **Note:** ${escapeMarkdown(n)}`, '');
  for (const p of headline(r.analyses)) out.push(segmentsMarkdown(p), '');
  for (const a of r.analyses) {
    const ans = answerFor(a);
    const cov = coverage(r, a.study);
    out.push(`## Study ${escapeMarkdown(a.study)} (along ${escapeMarkdown(a.axis)})`, '');
    for (const p of ans.paragraphs) out.push(segmentsMarkdown(p), '');
    const ct = coverageText(cov);
    out.push(`${escapeMarkdown(ct.text)} Coefficients are ${escapeMarkdown(canonicalName(a.optima[0]?.kind ?? 'coupled'))}.` +
      `${ct.warning ? ` ⚠ ${escapeMarkdown(ct.warning)}` : ''}`, '');
    const claims = claimsTable(a);
    if (claims.rows.length) out.push('### What the literature predicts, tested', '', tableMarkdown(claims), '');
    if (a.movements.length) {
      out.push('### Movement of the optimum per convention', '');
      out.push(`95% intervals from a bootstrap of the whole analysis over seeds; transfers: the interval lies within ±${TRANSFER_BAND} octaves per doubling; moves: it excludes 0.`, '');
      out.push(tableMarkdown(movementsTable(a)), '');
    }
    const alternatives = r.byMetric?.[a.study];
    if (alternatives && alternatives.length > 1) out.push('### The same study under each metric', '', escapeMarkdown(METRIC_WHY), '', tableMarkdown(metricsTable(alternatives)), '');
    out.push('### Calibration, accuracy and early stopping', '', tableMarkdown(calibrationTable(a)), '');
    out.push(`### Optimum per ${escapeMarkdown(a.axis)}`, '');
    out.push(tableMarkdown(optimaTable(a)), '');
    const config = configFor(r, a.study);
    if (config) {
      out.push('### Settings', '');
      out.push(tableMarkdown({ head: ['setting', 'value'], align: ['l', 'l'], rows: settingsRows(config).map(([k, v]) => [k, v]) }), '');
    }
  }
  return out.join('\n');
}
