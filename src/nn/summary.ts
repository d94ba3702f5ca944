/**
 * The model layer by layer, for the start-of-training printout and the `--json` start record:
 * each layer's name, its `--arch` token, its output shape, its parameters and which of them a
 * regularization term decays. Pure; read from the spec alone (no model is built).
 */
import { archToken, formatShape, layerNames, layerShapes, paramShapes, type ModelSpec } from './spec.js';

export interface LayerRow {
  /** `dense1`, `relu1`, `bn2`: the prefix of its parameters' names. */
  name: string;
  token: string;
  /** Output shape, e.g. [256] or [32, 14, 14]. */
  output: number[];
  /** Scalar parameters of the layer. */
  params: number;
  /** Its tensors a term decays, e.g. ['dense1.weight']. */
  decayed: string[];
}

export function layerRows(spec: ModelSpec, decayed: ReadonlySet<string>): LayerRow[] {
  const shapes = layerShapes(spec);
  const params = paramShapes(spec);
  const names = layerNames(spec);
  return spec.layers.map((l, i) => {
    const name = names[i];
    const mine = params.filter((p) => p.name.startsWith(`${name}.`));
    return {
      name, token: archToken(l), output: shapes[i + 1],
      params: mine.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0),
      decayed: mine.map((p) => p.name).filter((p) => decayed.has(p)),
    };
  });
}

/** The rows as an aligned table. */
export function formatLayerRows(rows: readonly LayerRow[]): string {
  const head = ['layer', 'spec', 'output', 'parameters', 'decayed'];
  const cells = rows.map((r) => [r.name, r.token, formatShape(r.output), r.params ? r.params.toLocaleString('en-US') : '–', r.decayed.map((d) => d.slice(d.indexOf('.') + 1)).join(', ') || (r.params ? 'none' : '')]);
  const widths = head.map((h, j) => Math.max(h.length, ...cells.map((c) => c[j].length)));
  const line = (c: string[]) => c.map((x, j) => (j === 3 ? x.padStart(widths[j]) : x.padEnd(widths[j]))).join('  ').trimEnd();
  return [line(head), ...cells.map(line)].map((l) => `  ${l}`).join('\n');
}
