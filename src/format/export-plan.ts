/**
 * What a re-emitted script needs to know about a run's regularization, whatever the framework:
 * the coefficients each parameter gets (grouped, as optimizer parameter groups), the batch sizes
 * an epoch steps through, and a canonical coefficient expressed in a framework's convention
 * through the library's one converter (regularization/convert.ts). Pure.
 */
import { ConfigError } from '../errors.js';
import { paramShapes } from '../nn/spec.js';
import { findConvention } from '../regularization/conventions.js';
import { convert } from '../regularization/convert.js';
import { decayMask } from '../regularization/mask.js';
import { coefficientFor } from '../regularization/plan.js';
import type { TrainConfig } from '../train/trainer.js';

export interface ParamGroup {
  names: string[];
  /** Coupled λ_E, decoupled c, lr-independent δ, learning-rate multiplier. */
  lambdaE: number;
  decoupled: number;
  step: number;
  lrScale: number;
}

/**
 * Parameters with the same coefficients and learning-rate multiplier on a step of `batchSize`
 * examples (scikit-learn's convention divides by each batch's own size), in model order.
 */
export function parameterGroups(config: TrainConfig, batchSize = config.batchSize): ParamGroup[] {
  const groups = new Map<string, ParamGroup>();
  for (const p of paramShapes(config.model)) {
    const param = { ...p, value: { length: p.shape.reduce((a, b) => a * b, 1) } };
    let lambdaE = 0, decoupled = 0, step = 0;
    for (const t of config.regularization) {
      if (!decayMask(t.decayParams)(param)) continue;
      const v = coefficientFor(t, param, batchSize);
      if (t.kind === 'coupled') lambdaE += v; else if (t.kind === 'decoupled') decoupled += v; else step += v;
    }
    const lrScale = config.optimizer.lrScale?.[p.name] ?? 1;
    const key = `${lambdaE}|${decoupled}|${step}|${lrScale}`;
    const g = groups.get(key) ?? { names: [], lambdaE, decoupled, step, lrScale };
    g.names.push(p.name);
    groups.set(key, g);
  }
  return [...groups.values()];
}

/** The sizes of an epoch's batches, in order: ⌈N/B⌉ batches, the last one short when B does not divide N. */
export function batchSizes(rows: number, batch: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < rows; s += batch) out.push(Math.min(batch, rows - s));
  return out;
}

/**
 * A canonical coefficient (λ_E from `seed:lambda`, or c from `pytorch-adamw:weight_decay`) in
 * the convention `to`, at batch size `batch`, by the library's converter. Same kind only, so the
 * conversion is exact.
 */
export function expressIn(value: number, from: 'seed' | 'pytorch-adamw', to: string, config: TrainConfig, batch = config.batchSize): number {
  const source = findConvention(from);
  const o = config.optimizer;
  const withMomentum = o.name === 'momentum' || o.name === 'nesterov';
  const report = convert({ convention: source, value, text: `${source.id}:${source.param}=${value}` },
    { optimizer: o.name, batch, ...(withMomentum ? { momentum: o.momentum ?? 0.9 } : {}) }, [to]);
  const r = report.results[0];
  if (r.value === null || r.exactness !== 'exact') throw new ConfigError(`${from} → ${to}: no exact conversion (${r.notes.join('; ')})`);
  return r.value;
}
