/**
 * The study report as ONE self-contained HTML file: inline CSS and inline SVG, no scripts,
 * fonts, images or links to fetch, and a Content-Security-Policy that forbids any request
 * should something slip in. Every user-supplied string goes through escapeHtml. Pure.
 */
import { TRANSFER_BAND, type AxisAnalysis, type Movement } from '../study/analysis.js';
import { UNTESTED_WIDTH } from '../study/claims.js';
import { METRIC_LABELS, METRIC_WHY } from '../study/metrics.js';
import { WINDOW } from '../study/optimum.js';
import { answerFor, conventionGroups, headline, type Answer, type Segment, type Verdict } from './answer.js';
import { escapeHtml } from './escape.js';
import { canonicalName, conventionLabel } from './format.js';
import { curvePlot, movementPlot } from './plots.js';
import {
  calibrationTable, claimsTable, configFor, coverage, coverageText, everyConventionTable, metricsTable, movementsTable, optimaTable, settingsRows,
  type Cell, type ReportData, type Table,
} from './tables.js';

const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const CSS = `
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1320px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 40px 0 8px; padding-top: 16px; border-top: 2px solid var(--line); }
h3 { font-size: 16px; margin: 24px 0 8px; }
p { margin: 8px 0; max-width: 90ch; }
.meta { color: var(--muted); margin: 0 0 16px; }
code { font: 0.92em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: 0 4px; white-space: nowrap; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 14px; }
th, td { border: 1px solid var(--line); padding: 4px 10px; vertical-align: top; }
td { white-space: nowrap; }
th { background: var(--soft); text-align: left; font-weight: 600; }
td.r { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.transfers td:nth-child(5) { color: #1a7f37; font-weight: 600; }
tr.moves td:nth-child(5) { color: #b42318; font-weight: 600; }
tr.undecided td:nth-child(5) { color: #9a6700; font-weight: 600; }
.headline { font-size: 16px; border-left: 5px solid #1f2328; padding: 6px 16px; margin: 12px 0 20px; }
.warn { color: #9a6700; font-weight: 600; white-space: normal; }
.answer { border-left: 5px solid var(--accent, #59636e); background: var(--soft); padding: 10px 16px; margin: 12px 0 16px; border-radius: 0 6px 6px 0; }
.answer p { margin: 6px 0; }
.verdict { display: inline-block; font-size: 12px; font-weight: 700; letter-spacing: .04em; text-transform: uppercase; color: #fff; background: var(--accent, #59636e); border-radius: 10px; padding: 1px 10px; }
.v-transfers { --accent: #1a7f37; } .v-undecided { --accent: #9a6700; } .v-moves { --accent: #b42318; } .v-no-fit { --accent: #59636e; }
.plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 540px), 1fr)); gap: 16px 24px; align-items: start; }
figure { margin: 0; }
figure svg { display: block; width: 100%; height: auto; max-width: 720px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
.settings th { width: 14em; }
.notes { border: 1px solid #d4a72c; background: #fff8c5; padding: 8px 14px; border-radius: 6px; }
details { margin: 8px 0 16px; } summary { cursor: pointer; font-weight: 600; }
.scroll { overflow-x: auto; }
.glossary { color: var(--muted); font-size: 14px; }
@media print { h2 { break-before: page; } .plots { display: block; } figure { break-inside: avoid; margin-bottom: 12px; } }
`;

export function segmentsHtml(segments: readonly Segment[]): string {
  return segments.map((s) => (typeof s === 'string' ? escapeHtml(s) : `<code>${escapeHtml(s.code)}</code>`)).join('');
}

function cellHtml(c: Cell): string {
  if (typeof c === 'string') return escapeHtml(c);
  if ('code' in c) return `<code>${escapeHtml(c.code)}</code>${escapeHtml(c.after ?? '')}`;
  return `<span class="warn">⚠ ${escapeHtml(c.warn)}</span>`;
}

export function tableHtml(t: Table, rowClass?: (row: Cell[], i: number) => string): string {
  const head = `<tr>${t.head.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr>`;
  const rows = t.rows.map((row, i) => {
    const cls = rowClass?.(row, i);
    return `<tr${cls ? ` class="${escapeHtml(cls)}"` : ''}>${row.map((c, j) => `<td${t.align[j] === 'r' ? ' class="r"' : ''}>${cellHtml(c)}</td>`).join('')}</tr>`;
  }).join('\n');
  return `<div class="scroll"><table>\n<thead>${head}</thead>\n<tbody>\n${rows}\n</tbody>\n</table></div>`;
}

const VERDICT_WORDS: Record<Verdict, string> = {
  transfers: 'a convention transfers', undecided: 'cannot decide yet', moves: 'the optimum moves', 'no-fit': 'no transfer fit',
};

export function answerHtml(ans: Answer): string {
  return `<div class="answer v-${ans.verdict}"><span class="verdict">${escapeHtml(VERDICT_WORDS[ans.verdict])}</span>\n` +
    ans.paragraphs.map((p) => `<p>${segmentsHtml(p)}</p>`).join('\n') + '</div>';
}

function studySection(r: ReportData, a: AxisAnalysis, index: number): string {
  const ans = answerFor(a);
  const config = configFor(r, a.study);
  const cov = coverage(r, a.study);
  const id = `study-${index + 1}`;
  const parts: string[] = [];
  parts.push(`<section id="${id}" aria-labelledby="${id}-h">`);
  parts.push(`<h2 id="${id}-h">Study ${escapeHtml(a.study)} <span class="meta">— along ${escapeHtml(a.axis)}</span></h2>`);
  parts.push(answerHtml(ans));

  const ct = coverageText(cov);
  parts.push(`<p class="meta">${escapeHtml(ct.text)} Coefficients are ${escapeHtml(canonicalName(a.optima[0]?.kind ?? 'coupled'))}.` +
    `${ct.warning ? ` <span class="warn">⚠ ${escapeHtml(ct.warning)}</span>` : ''}</p>`);

  const claims = claimsTable(a);
  if (claims.rows.length) {
    parts.push('<h3>What the literature predicts, tested</h3>');
    parts.push(`<p class="glossary">A claim holds when its predicted slope lies inside the measured 95% interval, fails when it lies outside, and is untested when the interval is wider than ${UNTESTED_WIDTH} octaves per doubling.</p>`);
    parts.push(tableHtml(claims));
  }

  parts.push('<h3>Plots</h3><div class="plots">');
  parts.push(`<figure>${curvePlot(a, 'metric')}</figure>`);
  if (a.metric !== 'final-error') parts.push(`<figure>${curvePlot(a, 'error')}</figure>`);
  const mp = movementPlot(a);
  if (mp) {
    const code = (m: Movement) => `<code>${escapeHtml(conventionLabel(m))}</code>`;
    const groups = conventionGroups(a).filter((g) => g.members.length > 1);
    const caption = groups.length
      ? `Drawn once per family of conventions that differ by a fixed factor on this axis (so they move together): ${groups.map((g) => g.members.filter((m) => !g.inverted.includes(m)).map(code).join(', ') +
        (g.inverted.length ? ` (and inversely ${g.inverted.map(code).join(', ')}, whose optima move the same amount the other way)` : '')).join('; ')}.`
      : '';
    parts.push(`<figure>${mp}${caption ? `<figcaption>${caption}</figcaption>` : ''}</figure>`);
  }
  parts.push('</div>');

  if (a.movements.length) {
    parts.push(`<h3>Movement of the optimum per convention</h3>`);
    parts.push(`<p class="glossary">Octaves per doubling: the least-squares slope of log₂(optimum in that convention) against ${escapeHtml(a.xLabel)}, over the located optima; the 95% interval comes from a bootstrap of the whole analysis over seeds (Student's t with ${a.df} degrees of freedom)${a.movements.some((m) => m.inflation > 1) ? ', widened where the optima scatter about the line more than their errors allow' : ''}. Verdict: <b>transfers</b> when the interval lies within ±${TRANSFER_BAND}, <b>moves</b> when it excludes 0, otherwise <b>undecided</b>. The last column but one is the slope of the canonical optimum that holding this convention fixed would predict.</p>`);
    parts.push(tableHtml(movementsTable(a), (row) => String(row[4])));
  }
  const alternatives = r.byMetric?.[a.study];
  if (alternatives && alternatives.length > 1) {
    parts.push('<h3>The same study under each metric</h3>');
    parts.push(`<p class="glossary">${escapeHtml(METRIC_WHY)}</p>`);
    parts.push(tableHtml(metricsTable(alternatives)));
  }
  parts.push('<h3>Calibration, accuracy and early stopping</h3>');
  parts.push(tableHtml(calibrationTable(a)));
  parts.push(`<h3>Optimum per ${escapeHtml(a.axis)}</h3>`);
  parts.push(`<p class="glossary">Optimum: vertex of a least-squares parabola through the points within ${WINDOW} octaves of the seed-mean minimum of the ${escapeHtml(METRIC_LABELS[a.metric])}; ± is the bootstrap standard error over seeds, in octaves (×2^±se). Penalty share and Σw² are at the tried coefficient nearest the optimum.</p>`);
  parts.push(tableHtml(optimaTable(a)));
  parts.push(`<details><summary>The optimum in every convention</summary>${tableHtml(everyConventionTable(a))}</details>`);

  if (config) {
    parts.push(`<details><summary>Settings of study ${escapeHtml(a.study)}</summary><div class="scroll"><table class="settings"><tbody>` +
      settingsRows(config).map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${cellHtml(v)}</td></tr>`).join('') +
      '</tbody></table></div></details>');
  }
  parts.push('</section>');
  return parts.join('\n');
}

/** The whole report. */
export function renderHtml(r: ReportData): string {
  const names = r.analyses.map((a) => a.study);
  const title = `ridgeline study report${names.length ? `: ${names.join(', ')}` : ''}`;
  const data = r.study?.data ?? [...new Set(r.results.map((x) => x.trial.data))].join(', ');
  const summary = r.analyses.map((a, i) => {
    const ans = answerFor(a);
    return `<li><a href="#study-${i + 1}">${escapeHtml(a.study)}</a> (${escapeHtml(a.axis)}): <strong>${escapeHtml(VERDICT_WORDS[ans.verdict])}</strong></li>`;
  }).join('\n');
  const lines = headline(r.analyses);
  const headlineHtml = lines.length ? `<div class="headline">${lines.map((p) => `<p>${segmentsHtml(p)}</p>`).join('\n')}</div>` : '';
  const notes = r.notes?.length ? `<div class="notes">${r.notes.map((n) => `<p>${escapeHtml(n)}</p>`).join('')}</div>` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(CSP)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p class="meta">Data: ${escapeHtml(data || 'unknown')} · ${r.results.length} trials${r.generatedAt ? ` · generated ${escapeHtml(r.generatedAt)}` : ''}</p>
${notes}
${headlineHtml}
<p>Each study trains the same classifier at several values of one scale axis, sweeping the L2 coefficient at each, and asks which way of writing the coefficient (which <em>convention</em>) keeps its best value fixed as the scale doubles.</p>
${summary ? `<ul>\n${summary}\n</ul>` : '<p>No results yet.</p>'}
${r.analyses.map((a, i) => studySection(r, a, i)).join('\n')}
</main>
</body>
</html>
`;
}
