/**
 * The model as data: a spec a user can write, that is saved in the model file's metadata and
 * rebuilt from it. `--hidden 256,256` is shorthand for an MLP spec.
 */
import { ConfigError } from '../errors.js';
import type { InitName } from '../tensor/init.js';

export type Activation = 'relu' | 'tanh' | 'gelu';

export type LayerSpec =
  | { type: 'dense'; units: number; init?: InitName }
  | { type: Activation }
  | { type: 'dropout'; rate: number };

export interface ModelSpec {
  /** Features per example (784 for 28×28 images). */
  inputSize: number;
  /** Number of classes; the last dense layer's width. */
  classes: number;
  layers: LayerSpec[];
}

/** An MLP: Dense → activation (→ dropout) per hidden width, then the output Dense. */
export function mlpSpec(inputSize: number, hidden: readonly number[], classes: number,
  activation: Activation = 'relu', dropout = 0): ModelSpec {
  const layers: LayerSpec[] = [];
  for (const units of hidden) {
    layers.push({ type: 'dense', units }, { type: activation });
    if (dropout > 0) layers.push({ type: 'dropout', rate: dropout });
  }
  layers.push({ type: 'dense', units: classes });
  return { inputSize, classes, layers };
}

/** Throws ConfigError naming the first bad layer; the builder relies on a valid spec. */
export function validateSpec(spec: ModelSpec): void {
  const positiveInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
  if (!positiveInt(spec.inputSize)) throw new ConfigError(`model input size must be a positive integer, got ${spec.inputSize}`);
  if (!positiveInt(spec.classes) || spec.classes < 2) throw new ConfigError(`model needs at least 2 classes, got ${spec.classes}`);
  let lastDense = -1;
  spec.layers.forEach((layer, i) => {
    const where = `layer ${i + 1} (${JSON.stringify(layer)})`;
    switch (layer.type) {
      case 'dense':
        if (!positiveInt(layer.units)) throw new ConfigError(`${where}: dense units must be a positive integer`);
        if (layer.init !== undefined && layer.init !== 'he' && layer.init !== 'glorot') {
          throw new ConfigError(`${where}: init must be 'he' or 'glorot'`);
        }
        lastDense = i;
        break;
      case 'relu': case 'tanh': case 'gelu':
        break;
      case 'dropout':
        if (!(typeof layer.rate === 'number' && layer.rate >= 0 && layer.rate < 1)) {
          throw new ConfigError(`${where}: dropout rate must be in [0, 1)`);
        }
        break;
      default:
        throw new ConfigError(`${where}: unknown layer type '${(layer as { type: string }).type}' (known: dense, relu, tanh, gelu, dropout)`);
    }
  });
  if (lastDense < 0) throw new ConfigError('model has no dense layer');
  const last = spec.layers[lastDense] as { units: number };
  if (lastDense !== spec.layers.length - 1) throw new ConfigError('the last layer must be dense (it produces the logits)');
  if (last.units !== spec.classes) {
    throw new ConfigError(`the last dense layer has ${last.units} units but the data has ${spec.classes} classes`);
  }
}

/** "784-256-256-10 relu" style one-line description for logs. */
export function describeSpec(spec: ModelSpec): string {
  const widths = [spec.inputSize, ...spec.layers.filter((l) => l.type === 'dense').map((l) => (l as { units: number }).units)];
  const extras = spec.layers.filter((l) => l.type !== 'dense').map((l) => l.type === 'dropout' ? `dropout(${l.rate})` : l.type);
  return `${widths.join('-')} ${[...new Set(extras)].join(',')}`.trim();
}

/** Names and shapes of a spec's parameters, without building the model (for masks and P). */
export function paramShapes(spec: ModelSpec): { name: string; shape: number[]; kind: 'weight' | 'bias' }[] {
  const out: { name: string; shape: number[]; kind: 'weight' | 'bias' }[] = [];
  let width = spec.inputSize, dense = 0;
  for (const l of spec.layers) {
    if (l.type !== 'dense') continue;
    dense++;
    out.push({ name: `dense${dense}.weight`, shape: [l.units, width], kind: 'weight' }, { name: `dense${dense}.bias`, shape: [l.units], kind: 'bias' });
    width = l.units;
  }
  return out;
}
