/**
 * The report's plots as standalone SVG strings, rendered without a browser: Observable Plot
 * draws into a linkedom document, and a title and legend are added inside the same <svg> so
 * each plot reads on its own (saved to a file, pasted into a README, or inline in the HTML).
 *
 * 1. the study's metric against λ (log x), one line per scale value, the located optimum marked;
 * 2. the validation error rate against λ, likewise;
 * 3. the optimum against the scale value in each convention, relative to the first scale
 *    value, in octaves with ±se error bars and the transfer band: a convention whose points
 *    stay inside the band transfers (the verdict itself is the slope's interval test).
 *
 * Pure apart from linkedom (which needs no Node APIs).
 */
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import { TRANSFER_BAND, type AxisAnalysis, type CurvePoint, type ScaleOptimum } from '../study/analysis.js';
import { METRIC_LABELS } from '../study/metrics.js';
import { conventionGroups, type ConventionGroup } from './answer.js';
import { escapeHtml } from './escape.js';
import { canonicalSymbol, conventionLabel, fmtCI } from './format.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif';
const FONT_SIZE = 12;
const WIDTH = 620;

/** Ordered colours for scale values: dark blue → teal → green → ochre → red → plum (no pale yellow). */
const ORDERED_STOPS = ['#1d3f8f', '#1b7fa6', '#2e9e62', '#c28a14', '#d2512b', '#9b1d4a'];
/** Distinct colours for convention families (Tableau 10, the yellow darkened for contrast). */
export const CATEGORICAL = ['#2f5f98', '#e15759', '#3f8f3a', '#f28e2b', '#8e5ea2', '#4f9e99', '#a88a1c', '#e377c2', '#8c564b', '#7f7f7f'];

export function orderedColors(n: number): string[] {
  if (n <= 1) return [ORDERED_STOPS[0]];
  return Array.from({ length: n }, (_, i) => {
    const t = (i / (n - 1)) * (ORDERED_STOPS.length - 1);
    const k = Math.min(Math.floor(t), ORDERED_STOPS.length - 2);
    return mix(ORDERED_STOPS[k], ORDERED_STOPS[k + 1], t - k);
  });
}

function mix(a: string, b: string, t: number): string {
  const ch = (hex: string, i: number) => parseInt(hex.slice(1 + 2 * i, 3 + 2 * i), 16);
  return '#' + [0, 1, 2].map((i) => Math.round(ch(a, i) + (ch(b, i) - ch(a, i)) * t).toString(16).padStart(2, '0')).join('');
}

export interface LegendItem {
  label: string;
  color: string;
  /** 'line' for a series, 'dot' and 'ring' for markers. */
  mark: 'line' | 'dot' | 'ring' | 'dash';
}

export interface Frame {
  title: string;
  subtitle?: string;
  legend: LegendItem[];
  /** Shown before the legend's items. */
  legendTitle?: string;
}

/** A rough text width (no font metrics without a browser): average glyph ≈ 0.56 em. */
function textWidth(text: string, size = FONT_SIZE): number {
  return text.length * size * 0.56;
}

/** Lays out the legend in rows within the width; returns each item's position and the height used. */
function layoutLegend(items: LegendItem[], title: string | undefined, top: number): { placed: { item: LegendItem; x: number; y: number }[]; titleAt: { x: number; y: number } | null; bottom: number } {
  const left = 12, right = WIDTH - 12, rowHeight = 18;
  let x = left, y = top;
  let titleAt: { x: number; y: number } | null = null;
  if (title) {
    titleAt = { x, y };
    x += textWidth(title) + 10;
  }
  const placed: { item: LegendItem; x: number; y: number }[] = [];
  for (const item of items) {
    const w = 26 + textWidth(item.label) + 16;
    if (x + w > right && x > left + (titleAt && y === top ? textWidth(title ?? '') + 10 : 0)) {
      x = left;
      y += rowHeight;
    }
    placed.push({ item, x, y });
    x += w;
  }
  return { placed, titleAt, bottom: items.length || title ? y + rowHeight : top };
}

function el(document: Document, name: string, attrs: Record<string, string | number>, text?: string): Element {
  const e = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * Renders a plot with a title and legend drawn inside the SVG. `build` gets the top margin to
 * use (room for the header) and returns Plot's options.
 */
export function renderFramed(frame: Frame, build: (marginTop: number) => Plot.PlotOptions): string {
  const { document } = parseHTML('<!DOCTYPE html><html><head></head><body></body></html>');
  const titleY = 22, subtitleY = 40;
  const legendTop = frame.subtitle ? 60 : 44;
  const legend = layoutLegend(frame.legend, frame.legendTitle, legendTop);
  const headerBottom = legend.bottom;
  const svg = Plot.plot({
    ...build(headerBottom + 24),
    document: document as unknown as Document,
    width: WIDTH,
    className: 'ridgeline-plot',
    style: { fontSize: `${FONT_SIZE}px`, fontFamily: FONT, background: 'white', color: '#222', overflow: 'visible' },
  }) as unknown as Element;
  if (svg.tagName.toLowerCase() !== 'svg') throw new Error('Plot returned a figure; render without title or legend options');
  svg.setAttribute('xmlns', SVG_NS);
  svg.setAttribute('role', 'img');
  // The accessible name is a <title> child, not an aria-label: no user text ever goes into an
  // attribute (linkedom leaves < and > unescaped there, which XML forbids in a standalone SVG).
  svg.insertBefore(el(document, 'title', {}, frame.title), svg.firstChild);
  svg.setAttribute('font-family', FONT);
  svg.setAttribute('font-size', String(FONT_SIZE));

  const header = el(document, 'g', { 'aria-label': 'title and legend', 'text-anchor': 'start', fill: '#222' });
  header.appendChild(el(document, 'text', { x: 12, y: titleY, 'font-size': 15, 'font-weight': 600 }, frame.title));
  if (frame.subtitle) header.appendChild(el(document, 'text', { x: 12, y: subtitleY, 'font-size': FONT_SIZE, fill: '#555' }, frame.subtitle));
  if (legend.titleAt) header.appendChild(el(document, 'text', { x: legend.titleAt.x, y: legend.titleAt.y + 4, 'font-weight': 600 }, frame.legendTitle ?? ''));
  for (const { item, x, y } of legend.placed) {
    const g = el(document, 'g', { transform: `translate(${x.toFixed(1)},${y})` });
    if (item.mark === 'line' || item.mark === 'dash') {
      g.appendChild(el(document, 'line', { x1: 0, x2: 20, y1: 0, y2: 0, stroke: item.color, 'stroke-width': 2.5, ...(item.mark === 'dash' ? { 'stroke-dasharray': '4 3' } : {}) }));
    } else {
      g.appendChild(el(document, 'circle', { cx: 10, cy: 0, r: 5, fill: item.mark === 'dot' ? item.color : 'white', stroke: item.mark === 'dot' ? 'white' : item.color, 'stroke-width': item.mark === 'dot' ? 1.5 : 2 }));
    }
    g.appendChild(el(document, 'text', { x: 26, y: 4 }, item.label));
    header.appendChild(g);
  }
  svg.appendChild(header);
  return svg.outerHTML;
}

/** Shown in place of a plot that has nothing to draw. */
function emptyPlot(title: string, message: string): string {
  return `<svg xmlns="${SVG_NS}" role="img" width="${WIDTH}" height="120" viewBox="0 0 ${WIDTH} 120" font-family="${escapeHtml(FONT)}" font-size="${FONT_SIZE}">` +
    `<title>${escapeHtml(title)}</title><rect width="100%" height="100%" fill="white"/><text x="12" y="22" font-size="15" font-weight="600">${escapeHtml(title)}</text>` +
    `<text x="12" y="60" fill="#555">${escapeHtml(message)}</text></svg>`;
}

function seriesLabel(value: number | string): string {
  return String(value);
}

function coefficientAxisLabel(a: AxisAnalysis): string {
  const kind = a.optima[0]?.kind ?? 'coupled';
  return kind === 'decoupled' ? 'AdamW weight decay c (δ = η·c per step), log scale →' : 'L2 coefficient λ_E (E = mean CE + λ_E·Σw²), log scale →';
}

/**
 * The study's metric (or the validation error rate) against the coefficient, one line per
 * scale value, faint dots for single seeds, a large dot at the located optimum (a ring when it
 * is flagged and left out of the slope).
 */
export function curvePlot(a: AxisAnalysis, which: 'metric' | 'error'): string {
  const isMetric = which === 'metric';
  const label = isMetric ? METRIC_LABELS[a.metric] : 'final validation error rate';
  const title = `${a.study}: ${label} vs ${canonicalSymbol(a.optima[0]?.kind ?? 'coupled')}`;
  const sym = canonicalSymbol(a.optima[0]?.kind ?? 'coupled');
  const asPct = !isMetric || a.metric === 'final-error';
  const yOf = (p: CurvePoint) => (isMetric ? p.mean : p.meanFinalError);
  const points = a.optima.flatMap((o) => o.curve.map((p) => ({ series: seriesLabel(o.value), coefficient: p.coefficient, y: yOf(p) })))
    .filter((p) => Number.isFinite(p.y));
  if (points.length === 0) return emptyPlot(title, 'No finished, non-diverged trials to plot.');
  const seeds = isMetric
    ? a.optima.flatMap((o) => o.curve.flatMap((p) => p.perSeed.map((y) => ({ series: seriesLabel(o.value), coefficient: p.coefficient, y }))))
        .filter((p) => Number.isFinite(p.y))
    : [];
  const optima = a.optima.map((o) => ({
    series: seriesLabel(o.value), coefficient: o.optimum, y: isMetric ? o.metricAtOptimum : interpolate(o, (p) => p.meanFinalError), flagged: o.flag !== null,
  })).filter((p) => Number.isFinite(p.y) && Number.isFinite(p.coefficient));
  const domain = a.optima.map((o) => seriesLabel(o.value));
  const colors = orderedColors(domain.length);
  const diverged = a.optima.flatMap((o) => o.curve.filter((p) => !Number.isFinite(p.mean)).map((p) => `${o.value}@${p.coefficient}`));
  return renderFramed({
    title,
    subtitle: `Mean over seeds${isMetric ? ' (small dots: seeds)' : ''}; lower is better; big dot: the optimum${diverged.length ? `; ${diverged.length} diverged point(s) left out` : ''}.`,
    legendTitle: `${a.axis}:`,
    legend: [
      ...domain.map((l, i) => ({ label: l, color: colors[i], mark: 'line' as const })),
      { label: 'optimum', color: '#444', mark: 'dot' },
      ...(optima.some((o) => o.flagged) ? [{ label: 'optimum not located (left out)', color: '#444', mark: 'ring' as const }] : []),
    ],
  }, (marginTop) => ({
    height: 300 + marginTop,
    marginTop, marginLeft: 64, marginRight: 20, marginBottom: 44,
    x: { type: 'log', label: coefficientAxisLabel(a).replace('λ_E', sym), labelAnchor: 'center', labelArrow: 'none', tickFormat: '~e', nice: false },
    y: asPct
      ? { label: `${label} (%)`, labelAnchor: 'center', labelArrow: 'none', grid: true, nice: true, percent: true, insetTop: 8 }
      : { label: `${label} (nats)`, labelAnchor: 'center', labelArrow: 'none', grid: true, nice: true, insetTop: 8 },
    color: { type: 'ordinal', domain, range: colors },
    marks: [
      Plot.dot(seeds, { x: 'coefficient', y: 'y', fill: 'series', r: 1.8, fillOpacity: 0.35 }),
      Plot.line(points, { x: 'coefficient', y: 'y', stroke: 'series', z: 'series', strokeWidth: 2 }),
      Plot.dot(points, { x: 'coefficient', y: 'y', fill: 'series', r: 2.5 }),
      Plot.dot(optima.filter((o) => !o.flagged), { x: 'coefficient', y: 'y', fill: 'series', stroke: 'white', strokeWidth: 1.5, r: 6 }),
      Plot.dot(optima.filter((o) => o.flagged), { x: 'coefficient', y: 'y', fill: 'white', stroke: 'series', strokeWidth: 2.5, r: 6 }),
    ],
  }));
}

/** A curve quantity at the optimum, interpolated in log λ between grid points. */
function interpolate(o: ScaleOptimum, f: (p: CurvePoint) => number): number {
  const pts = o.curve.filter((p) => Number.isFinite(f(p)));
  if (pts.length === 0) return NaN;
  const x = Math.log2(o.optimum);
  for (let i = 0; i + 1 < pts.length; i++) {
    const x0 = Math.log2(pts[i].coefficient), x1 = Math.log2(pts[i + 1].coefficient);
    if (x >= x0 && x <= x1) return f(pts[i]) + ((x - x0) / (x1 - x0 || 1)) * (f(pts[i + 1]) - f(pts[i]));
  }
  return f(pts.reduce((a, p) => (Math.abs(Math.log2(p.coefficient) - x) < Math.abs(Math.log2(a.coefficient) - x) ? p : a)));
}

/**
 * The legend label of a family: `per-weight:c and 1 other: +1.31 [+1.1, +1.5]`. The count
 * names conventions that differ from the lead by a fixed factor here, never a movement.
 */
export function groupLabel(g: ConventionGroup): string {
  const more = g.members.length > 1 ? ` and ${g.members.length - 1} other${g.members.length > 2 ? 's' : ''}` : '';
  return `${conventionLabel(g.lead)}${more}: ${fmtCI(g.lead)}`;
}

/**
 * The optimum against the scale value in each family of conventions, relative to the first
 * scale value, in octaves, with ±se error bars. Families whose curves coincide on this axis
 * are drawn once. null when the axis has no movements (categorical, or one value).
 */
export function movementPlot(a: AxisAnalysis): string | null {
  if (a.movements.length === 0) return null;
  const groups = conventionGroups(a);
  const labels = groups.map(groupLabel);
  const colors = groups.map((_, i) => CATEGORICAL[i % CATEGORICAL.length]);
  const xs = a.optima.map((o) => Math.pow(2, o.x ?? 0));
  const x0 = xs[0];
  const range = Math.log2(Math.max(...xs) / Math.min(...xs)) || 1;
  // Families side by side at each x, so their error bars do not hide each other.
  const dodge = (k: number) => Math.pow(2, 0.025 * range * (k - (groups.length - 1) / 2));
  const rows = groups.flatMap((g, k) => g.relative.map((y, i) => ({
    family: labels[k], x: xs[i] * dodge(k), y, lo: y - a.optima[i].seLog2, hi: y + a.optima[i].seLog2, flagged: a.optima[i].flag !== null,
  })));
  // The transfer band: a movement of ±TRANSFER_BAND octaves per doubling from the first scale.
  const band = [x0, ...xs.slice(1)].map((x) => ({ x, lo: -TRANSFER_BAND * Math.log2(x / x0), hi: TRANSFER_BAND * Math.log2(x / x0) }));
  const axisName = a.axis === 'tpp' ? 'samples per parameter' : a.axis;
  const fmtX = (d: number) => (a.axis === 'tpp' ? String(Number(d.toPrecision(2))) : String(Number(d.toPrecision(4))));
  return renderFramed({
    title: `${a.study}: where the optimum moves along ${axisName}, per convention`,
    subtitle: `Relative to ${axisName} ${fmtX(x0)}; bars ±1 se; grey: ±${TRANSFER_BAND} octaves per doubling (transfers).`,
    legendTitle: 'octaves per doubling [95%]:',
    legend: [
      ...groups.map((g, i) => ({ label: labels[i], color: colors[i], mark: 'line' as const })),
      ...(rows.some((r) => r.flagged) ? [{ label: 'optimum not located (left out of the fit)', color: '#444', mark: 'ring' as const }] : []),
    ],
  }, (marginTop) => ({
    height: 300 + marginTop,
    marginTop, marginLeft: 64, marginRight: 24, marginBottom: 44,
    x: { type: 'log', base: 2, label: `${axisName} (log₂ scale) →`, labelAnchor: 'center', labelArrow: 'none', ticks: xs, tickFormat: fmtX, inset: 16 },
    y: { label: 'log₂(optimum / optimum at the first value) (octaves)', labelAnchor: 'center', labelArrow: 'none', grid: true, nice: true, insetTop: 8, insetBottom: 8 },
    color: { type: 'ordinal', domain: labels, range: colors },
    marks: [
      Plot.areaY(band, { x: 'x', y1: 'lo', y2: 'hi', fill: '#888', fillOpacity: 0.15 }),
      Plot.ruleY([0], { stroke: '#888', strokeDasharray: '4 3' }),
      Plot.ruleX(rows, { x: 'x', y1: 'lo', y2: 'hi', stroke: 'family', strokeWidth: 1.5, strokeOpacity: 0.8 }),
      Plot.line(rows, { x: 'x', y: 'y', stroke: 'family', z: 'family', strokeWidth: 2 }),
      Plot.dot(rows.filter((r) => !r.flagged), { x: 'x', y: 'y', fill: 'family', stroke: 'white', r: 4 }),
      Plot.dot(rows.filter((r) => r.flagged), { x: 'x', y: 'y', fill: 'white', stroke: 'family', strokeWidth: 2, r: 4 }),
    ],
  }));
}
