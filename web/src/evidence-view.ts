/**
 * The evidence: the committed full-data studies (collected at build time by
 * web/studies-plugin.ts), analyzed here by the study's own analysis (src/study/analysis.ts);
 * per axis and convention, the movement of the optimum with its error bars and the plain
 * answer (src/report/answer.ts). The plots are the report's (src/report/plots.ts).
 */
import * as Plot from '@observablehq/plot';
import { findConvention } from '../../src/regularization/conventions.js';
import { analyze, type AxisAnalysis, type Movement } from '../../src/study/analysis.js';
import type { TrialResult } from '../../src/study/run-trial.js';
import { answerFor } from '../../src/report/answer.js';
import { curvePlot, movementPlot } from '../../src/report/plots.js';
import { fmtCI, fmtCoef, fmtSe, flagText, conventionLabel, axisValue } from '../../src/report/format.js';
import { field, h, segments, select, svgFigure } from './dom.js';

interface Analyzed {
  name: string;
  trials: number;
  analysis: AxisAnalysis | null;
  notes: string[];
}

/** The studies' records are a chunk of their own, loaded when this view opens. */
async function analyzeCommitted(): Promise<Analyzed[]> {
  const { default: studies } = await import('virtual:ridgeline-studies');
  return studies.map((s) => {
    const metricFor = (study: string) => s.study.configs.find((c) => c.name === study)?.metric;
    const analysis = analyze(s.results as TrialResult[], { metricFor }).find((a) => a.study === s.name) ?? null;
    return { name: s.name, trials: s.results.length, analysis, notes: s.notes };
  });
}

export async function evidenceView(root: HTMLElement): Promise<void> {
  root.append(h('h2', {}, 'The evidence: the full-data studies'),
    h('p', { class: 'note' }, 'The studies committed under ', h('code', {}, 'docs/studies/'), ' when this page was built (Fashion-MNIST, six seeds per point), ',
      'analyzed in this page by the study\'s own code. A study still running shows what it has.'));
  const all = await analyzeCommitted();
  if (all.length === 0) {
    root.append(h('p', {}, 'No study results were committed when this page was built.'));
    return;
  }
  const ready = all.filter((a) => a.analysis);
  const waiting = all.filter((a) => !a.analysis);
  if (waiting.length > 0) root.append(h('p', { class: 'note' }, `Not analyzable yet (no scale value has a curve): ${waiting.map((w) => `${w.name} (${w.trials} trials)`).join(', ')}.`));
  if (ready.length === 0) return;
  const study = select('ev-study', ready.map((a) => [a.name, `${a.name} (axis ${a.analysis!.axis}, ${a.trials} trials)`] as [string, string]), ready[0].name);
  const convention = select('ev-convention', [], '');
  const out = h('div', { id: 'ev-output' });
  const form = h('form', { class: 'controls' }, field('study', study), field('convention', convention));
  form.addEventListener('submit', (e) => e.preventDefault());
  root.append(form, out);

  const current = () => ready.find((a) => a.name === study.value)!;
  const fillConventions = () => {
    const a = current().analysis!;
    convention.replaceChildren(...a.movements.map((m) => h('option', { value: m.convention }, conventionLabel(m))));
    convention.disabled = a.movements.length === 0;
    const preferred = a.movements.find((m) => m.convention === 'seed' || m.convention === 'pytorch-adamw');
    if (preferred) convention.value = preferred.convention;
  };
  const render = () => {
    const { analysis: a, notes } = current();
    const m = a!.movements.find((x) => x.convention === convention.value);
    out.replaceChildren(...renderStudy(a!, m, notes));
  };
  study.addEventListener('change', () => { fillConventions(); render(); });
  convention.addEventListener('change', render);
  fillConventions();
  render();
}

function renderStudy(a: AxisAnalysis, m: Movement | undefined, notes: string[]): Node[] {
  const answer = answerFor(a);
  return [
    h('h3', {}, 'The answer'),
    h('div', { class: 'answer', id: 'ev-answer', 'data-verdict': answer.verdict }, ...answer.paragraphs.map(segments)),
    ...(m ? conventionBlock(a, m) : []),
    h('div', { class: 'plots' }, svgFigure(curvePlot(a, 'metric'), 'curves'), ...(a.movements.length ? [svgFigure(movementPlot(a)!, 'movement')] : [])),
    ...notes.map((n) => h('p', { class: 'note' }, n)),
  ];
}

function atLeastTwoOctaves(rows: readonly { lo: number; hi: number }[]): [number, number] {
  const lo = Math.min(...rows.map((r) => r.lo)), hi = Math.max(...rows.map((r) => r.hi));
  const mid = Math.sqrt(lo * hi), half = Math.max(Math.sqrt(hi / lo), 2);
  return [mid / half, mid * half];
}

/** One convention: its optimum at each scale value with ±1 se, the fitted movement and its verdict. */
function conventionBlock(a: AxisAnalysis, m: Movement): Node[] {
  const conv = findConvention(m.convention);
  const rows = a.optima.map((o, i) => {
    const c = m.values[i].coefficient;
    const f = Math.pow(2, o.seLog2);
    return { value: Math.pow(2, o.x ?? 0), label: o.value, c, lo: c / f, hi: c * f, used: o.flag === null, flag: flagText(o), se: o.seLog2 };
  });
  const plot = Plot.plot({
    width: 520, height: 300, marginLeft: 70,
    x: { type: 'log', base: 2, label: `${a.axis === 'tpp' ? 'samples per parameter' : a.axis} →`, ticks: rows.map((r) => r.value), tickFormat: (d: number) => String(Number(d.toPrecision(4))) },
    // At least two octaves tall, so a convention that holds still looks still.
    y: { type: 'log', label: `${conventionLabel(m)} at the optimum`, grid: true, tickFormat: '~e', domain: atLeastTwoOctaves(rows) },
    marks: [
      Plot.ruleX(rows, { x: 'value', y1: 'lo', y2: 'hi', stroke: '#2f5f98' }),
      Plot.line(rows.filter((r) => r.used), { x: 'value', y: 'c', stroke: '#2f5f98' }),
      Plot.dot(rows, { x: 'value', y: 'c', fill: (r: { used: boolean }) => (r.used ? '#2f5f98' : 'white'), stroke: '#2f5f98', r: 5 }),
    ],
  });
  plot.setAttribute('role', 'img');
  plot.setAttribute('aria-label', `${conventionLabel(m)}: the optimum against ${a.axis}, with ±1 standard error`);
  return [
    h('h3', {}, h('code', {}, conventionLabel(m)), ` (${conv.formula})`),
    h('p', { id: 'ev-movement', 'data-slope': m.slope, 'data-verdict': m.verdict },
      `Its optimum moved ${fmtCI(m)} octaves per doubling of ${a.axis} (95% interval): `, h('strong', {}, m.verdict), '.',
      Number.isFinite(m.ruleSlope) && m.ruleSlope !== 0 ? ` Holding it fixed means moving λ_E by ${m.ruleSlope.toFixed(2)} octaves per doubling.` : ''),
    h('div', { class: 'plots' }, svgFigure(plot, 'convention'),
      h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, a.axis), h('th', {}, 'optimum'), h('th', {}, '± se (octaves)'), h('th', {}, ''))),
        h('tbody', {}, ...rows.map((r) => h('tr', {}, h('td', {}, axisValue(a, r.label)), h('td', { class: 'num' }, fmtCoef(r.c)), h('td', { class: 'num' }, fmtSe(r.se)), h('td', { class: 'note' }, r.flag)))))),
  ];
}
