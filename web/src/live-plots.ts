/** The live run's three plots (Observable Plot, as the report): losses, accuracies, ‖w‖ per layer, by epoch. */
import * as Plot from '@observablehq/plot';
import type { EpochMetrics } from '../../src/train/trainer.js';
import type { LayerNorm } from './protocol.js';

export interface EpochPoint {
  metrics: EpochMetrics;
  norms: LayerNorm[];
}

type Row = { epoch: number; series: string; y: number };

function linePlot(rows: Row[], label: string, title: string, percent = false): SVGSVGElement | HTMLElement {
  const plot = Plot.plot({
    width: 350, height: 250, marginLeft: 52, marginRight: 12,
    x: { label: 'epoch →', labelAnchor: 'center', labelArrow: 'none', tickFormat: 'd', domain: rows.length ? undefined : [1, 10] },
    y: { label, grid: true, nice: true, percent, zero: false },
    color: { legend: true, type: 'categorical' },
    marks: [
      Plot.line(rows, { x: 'epoch', y: 'y', stroke: 'series', z: 'series', strokeWidth: 2 }),
      Plot.dot(rows, { x: 'epoch', y: 'y', fill: 'series', r: 2.5 }),
    ],
  });
  // With a legend Plot returns a <figure> (the legend and the plot): the name goes on it.
  plot.setAttribute('aria-label', title);
  return plot;
}

/** Data loss and penalty apart (the logged loss is the optimized one), and the validation CE. */
export function lossPlot(points: readonly EpochPoint[]) {
  const rows = points.flatMap(({ metrics: m }) => [
    { epoch: m.epoch, series: 'data loss (train CE)', y: m.data_loss },
    { epoch: m.epoch, series: 'penalty λ_E·Σw²', y: m.penalty },
    ...(m.val_loss === null ? [] : [{ epoch: m.epoch, series: 'validation CE', y: m.val_loss }]),
  ]);
  return linePlot(rows, 'nats', 'Data loss, penalty and validation cross-entropy per epoch');
}

export function accuracyPlot(points: readonly EpochPoint[]) {
  const rows = points.flatMap(({ metrics: m }) => [
    { epoch: m.epoch, series: 'train', y: m.train_accuracy },
    ...(m.val_accuracy === null ? [] : [{ epoch: m.epoch, series: 'validation', y: m.val_accuracy }]),
  ]);
  return linePlot(rows, 'accuracy (%)', 'Train and validation accuracy per epoch', true);
}

export function normPlot(points: readonly EpochPoint[]) {
  const rows = points.flatMap(({ metrics: m, norms }) => norms.map((n) => ({ epoch: m.epoch, series: `‖${n.name}‖`, y: n.norm })));
  return linePlot(rows, '‖w‖ (Frobenius)', 'Weight norm per layer per epoch');
}
