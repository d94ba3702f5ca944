/**
 * The report's answer and tables as Markdown (GitHub-flavoured), for a README or an issue.
 * The plots live in report.html. Every user-supplied string is escaped. Pure.
 */
import { answerFor, type Segment } from './answer.js';
import { escapeMarkdown, markdownCode } from './escape.js';
import { canonicalName } from './format.js';
import {
  configFor, coverage, movementsTable, optimaTable, settingsRows, type Cell, type ReportData, type Table,
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
  for (const a of r.analyses) {
    const ans = answerFor(a);
    const cov = coverage(r, a.study);
    out.push(`## Study ${escapeMarkdown(a.study)} (along ${escapeMarkdown(a.axis)})`, '');
    for (const p of ans.paragraphs) out.push(segmentsMarkdown(p), '');
    const missing = cov.expected !== null ? cov.expected - cov.found : 0;
    out.push(`${cov.found} trials${cov.expected !== null ? ` of ${cov.expected}` : ''}${cov.diverged ? `, ${cov.diverged} diverged` : ''}. ` +
      `Coefficients are ${escapeMarkdown(canonicalName(a.optima[0]?.kind ?? 'coupled'))}.` +
      `${missing > 0 ? ` ⚠ ${missing} trials are missing: the study is unfinished.` : ''}`, '');
    if (a.movements.length) {
      out.push('### Movement of the optimum per convention', '');
      out.push(tableMarkdown(movementsTable(a)), '');
    }
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
