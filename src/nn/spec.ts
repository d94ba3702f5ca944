/**
 * The model as data: a spec a user can write, that is saved in the model file's metadata and
 * rebuilt from it. Two spellings of the same thing: JSON (the API, the file) and a compact
 * string for the CLI (`--arch conv:32x3p1,bn,relu,pool:2,flatten,dense:10`, see parseArch).
 * `--hidden 256,256` is shorthand for an MLP spec.
 *
 * Examples are C×H×W images (NCHW in memory, PyTorch's layout, so weights load into and out
 * of PyTorch without a transpose) or flat feature vectors. Shapes are checked here, once,
 * for the whole network, so a bad spec fails before any buffer is allocated.
 */
import { ConfigError } from '../errors.js';
import type { InitName } from '../tensor/init.js';
import type { ParamKind } from '../tensor/param.js';

export type Activation = 'relu' | 'tanh' | 'gelu';

export type LayerSpec =
  /** Fully connected; a C×H×W input is flattened first (as nn.Flatten then nn.Linear). */
  | { type: 'dense'; units: number; init?: InitName }
  /** 2-D convolution, square kernel, zero padding, dilation 1 (PyTorch nn.Conv2d). */
  | { type: 'conv2d'; filters: number; kernel: number; stride?: number; padding?: number; init?: InitName }
  /** Window `size`, stride defaults to the window (PyTorch nn.MaxPool2d / nn.AvgPool2d), no padding. */
  | { type: 'maxpool2d'; size: number; stride?: number }
  | { type: 'avgpool2d'; size: number; stride?: number }
  /** Mean over H×W: C×H×W → C. */
  | { type: 'globalavgpool' }
  | { type: 'flatten' }
  /** Per channel (C×H×W) or per feature (flat); PyTorch's momentum 0.1 and eps 1e-5 by default. */
  | { type: 'batchnorm'; momentum?: number; eps?: number }
  /** Over all of an example's features, with a gain and shift per feature (nn.LayerNorm(shape)). */
  | { type: 'layernorm'; eps?: number }
  | { type: Activation }
  | { type: 'dropout'; rate: number };

export type LayerType = LayerSpec['type'];

export interface ModelSpec {
  /** Features per example (784 for 28×28 images): the product of inputShape. */
  inputSize: number;
  /** Per-example shape, [C, H, W] for images; absent means flat, [inputSize]. */
  inputShape?: number[];
  /** Number of classes; the last dense layer's width. */
  classes: number;
  layers: LayerSpec[];
}


export const BATCHNORM_DEFAULTS = { momentum: 0.1, eps: 1e-5 } as const;
export const LAYERNORM_DEFAULTS = { eps: 1e-5 } as const;

/** The prefix of a layer's name and its parameters' names: conv1.weight, bn2.running_mean. */
export const LAYER_PREFIX: Record<LayerType, string> = {
  dense: 'dense', conv2d: 'conv', maxpool2d: 'maxpool', avgpool2d: 'avgpool', globalavgpool: 'gap',
  flatten: 'flatten', batchnorm: 'bn', layernorm: 'ln', relu: 'relu', tanh: 'tanh', gelu: 'gelu', dropout: 'dropout',
};

/** An MLP: Dense (→ norm) → activation (→ dropout) per hidden width, then the output Dense. */
export function mlpSpec(inputSize: number, hidden: readonly number[], classes: number,
  activation: Activation = 'relu', dropout = 0, norm?: 'batchnorm' | 'layernorm'): ModelSpec {
  const layers: LayerSpec[] = [];
  for (const units of hidden) {
    layers.push({ type: 'dense', units }, ...(norm ? [{ type: norm }] : []), { type: activation });
    if (dropout > 0) layers.push({ type: 'dropout', rate: dropout });
  }
  layers.push({ type: 'dense', units: classes });
  return { inputSize, classes, layers };
}

export function inputShapeOf(spec: ModelSpec): number[] {
  return spec.inputShape ? [...spec.inputShape] : [spec.inputSize];
}

const positiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
export const formatShape = (shape: readonly number[]) => shape.join('×');

/**
 * The shape after each layer: [input, after layer 1, …]. Throws a ConfigError naming the
 * first layer that is invalid or does not fit its input, with the shapes up to it.
 */
export function layerShapes(spec: ModelSpec): number[][] {
  if (!positiveInt(spec.inputSize)) throw new ConfigError(`model input size must be a positive integer, got ${spec.inputSize}`);
  if (spec.inputShape !== undefined) {
    if (!Array.isArray(spec.inputShape) || spec.inputShape.length === 0 || !spec.inputShape.every(positiveInt)) {
      throw new ConfigError(`model input shape must be positive integers, got ${JSON.stringify(spec.inputShape)}`);
    }
    if (size(spec.inputShape) !== spec.inputSize) {
      throw new ConfigError(`model input shape ${formatShape(spec.inputShape)} has ${size(spec.inputShape)} values, not the input size ${spec.inputSize}`);
    }
  }
  if (!Array.isArray(spec.layers)) throw new ConfigError('model layers must be a list');
  const shapes: number[][] = [inputShapeOf(spec)];
  spec.layers.forEach((layer, i) => {
    try {
      shapes.push(outputShape(layer, shapes[i]));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const trail = shapes.map((s, j) => `  ${j === 0 ? 'input' : archToken(spec.layers[j - 1])}`.padEnd(24) + formatShape(s));
      throw new ConfigError(`layer ${i + 1} (${archToken(layer)}): ${e.message}\nshapes through the network:\n${trail.join('\n')}\n  ${archToken(layer).padEnd(22)}✗`);
    }
  });
  return shapes;
}

/** One layer's output shape for an input shape; throws ConfigError (without position) when it does not fit. */
function outputShape(layer: LayerSpec, input: readonly number[]): number[] {
  const image = (what: string) => {
    if (input.length !== 3) throw new ConfigError(`${what} needs a C×H×W input, got ${formatShape(input)}`);
    return input as [number, number, number];
  };
  const window = (what: string, k: number, stride: number, pad: number, h: number, w: number) => {
    if (h + 2 * pad < k || w + 2 * pad < k) {
      throw new ConfigError(`${what} window ${k}×${k} is larger than its ${pad ? 'padded ' : ''}input ${h + 2 * pad}×${w + 2 * pad}`);
    }
    return [Math.floor((h + 2 * pad - k) / stride) + 1, Math.floor((w + 2 * pad - k) / stride) + 1];
  };
  switch (layer.type) {
    case 'dense':
      if (!positiveInt(layer.units)) throw new ConfigError('dense units must be a positive integer');
      checkInit(layer.init);
      return [layer.units];
    case 'conv2d': {
      if (!positiveInt(layer.filters)) throw new ConfigError('conv filters must be a positive integer');
      if (!positiveInt(layer.kernel)) throw new ConfigError('conv kernel size must be a positive integer');
      const stride = layer.stride ?? 1, pad = layer.padding ?? 0;
      if (!positiveInt(stride)) throw new ConfigError('conv stride must be a positive integer');
      if (!(Number.isInteger(pad) && pad >= 0 && pad < layer.kernel)) throw new ConfigError(`conv padding must be an integer in [0, kernel), got ${pad}`);
      checkInit(layer.init);
      const [, h, w] = image('conv');
      return [layer.filters, ...window('conv', layer.kernel, stride, pad, h, w)];
    }
    case 'maxpool2d': case 'avgpool2d': {
      const what = layer.type === 'maxpool2d' ? 'max pool' : 'average pool';
      if (!positiveInt(layer.size)) throw new ConfigError(`${what} size must be a positive integer`);
      if (!positiveInt(layer.stride ?? layer.size)) throw new ConfigError(`${what} stride must be a positive integer`);
      const [c, h, w] = image(what);
      return [c, ...window(what, layer.size, layer.stride ?? layer.size, 0, h, w)];
    }
    case 'globalavgpool':
      return [image('global average pool')[0]];
    case 'flatten':
      return [size(input)];
    case 'batchnorm': {
      const { momentum, eps } = { ...BATCHNORM_DEFAULTS, ...layer };
      if (!(typeof momentum === 'number' && momentum > 0 && momentum <= 1)) throw new ConfigError(`batchnorm momentum must be in (0, 1], got ${momentum}`);
      if (!(typeof eps === 'number' && eps > 0)) throw new ConfigError(`batchnorm eps must be positive, got ${eps}`);
      if (input.length !== 1 && input.length !== 3) throw new ConfigError(`batchnorm needs a flat or C×H×W input, got ${formatShape(input)}`);
      return [...input];
    }
    case 'layernorm':
      if (!(typeof (layer.eps ?? 1e-5) === 'number' && (layer.eps ?? 1e-5) > 0)) throw new ConfigError(`layernorm eps must be positive, got ${layer.eps}`);
      return [...input];
    case 'relu': case 'tanh': case 'gelu':
      return [...input];
    case 'dropout':
      if (!(typeof layer.rate === 'number' && layer.rate >= 0 && layer.rate < 1)) throw new ConfigError('dropout rate must be in [0, 1)');
      return [...input];
    default:
      throw new ConfigError(`unknown layer type '${(layer as { type: string }).type}' (known: ${Object.keys(LAYER_PREFIX).join(', ')})`);
  }
}

function checkInit(init: unknown): void {
  if (init !== undefined && init !== 'he' && init !== 'glorot') throw new ConfigError(`init must be 'he' or 'glorot', got ${JSON.stringify(init)}`);
}

/**
 * The most floats a model may need (parameters, gradients, two optimizer moments, and the
 * activations and scratch of a batch): 2^30, 4 GiB. A spec beyond it is refused before anything
 * is allocated, naming the limit, instead of failing inside a typed-array constructor.
 */
export const MAX_MODEL_FLOATS = 2 ** 30;

/** Floats the model needs at this batch size, roughly from above (parameters ×4, each activation ×3, im2col columns). */
export function modelFloats(spec: ModelSpec, maxBatch: number): number {
  const shapes = layerShapes(spec);
  const params = paramShapes(spec).reduce((s, p) => s + size(p.shape), 0);
  let activations = 0;
  spec.layers.forEach((l, i) => {
    activations += 3 * size(shapes[i + 1]) * maxBatch;
    if (l.type === 'conv2d') activations += 2 * (size([shapes[i][0], l.kernel, l.kernel]) + 1) * size(shapes[i + 1].slice(1)) * maxBatch;
  });
  return 4 * params + activations;
}

/** ConfigError when the model would not fit the budget (MAX_MODEL_FLOATS). */
export function checkModelSize(spec: ModelSpec, maxBatch: number): void {
  const need = modelFloats(spec, maxBatch);
  if (need > MAX_MODEL_FLOATS) {
    const gib = (f: number) => (f * 4 / 2 ** 30).toFixed(1);
    throw new ConfigError(`the model needs about ${gib(need)} GiB (${paramShapes(spec).reduce((s, p) => s + size(p.shape), 0).toExponential(2)} parameters, at batch ${maxBatch}), over the ${gib(MAX_MODEL_FLOATS)} GiB limit for one model`);
  }
}

/** Throws ConfigError naming the first bad layer; the builder relies on a valid spec. */
export function validateSpec(spec: ModelSpec): void {
  if (!positiveInt(spec.classes) || spec.classes < 2) throw new ConfigError(`model needs at least 2 classes, got ${spec.classes}`);
  layerShapes(spec);
  const last = spec.layers[spec.layers.length - 1];
  if (!last || last.type !== 'dense') throw new ConfigError('the last layer must be dense (it produces the logits)');
  if (last.units !== spec.classes) {
    throw new ConfigError(`the last dense layer has ${last.units} units but the data has ${spec.classes} classes`);
  }
}

// ---- the compact string ---------------------------------------------------------------

/** How parseArch's errors name their source (the CLI prints `--arch`: src/cli/flags.ts). */
export const PARSE_ARCH = 'parseArch';

/**
 * Parses `--arch`: comma-separated tokens, each a layer.
 *
 *   dense:128   conv:32x3   conv:32x3p1   conv:64x5s2p2   pool:2 (max)   maxpool:3s2
 *   avgpool:2   gap   flatten   bn   bn:0.01 (momentum)   ln   relu   tanh   gelu   dropout:0.25
 *
 * `conv:FxK` has F filters of K×K, optional `s` stride and `p` zero padding (PyTorch's
 * defaults: stride 1, padding 0). Errors name the token and its position; shape errors print
 * the shapes through the network.
 */
export function parseArch(text: string, inputShape: readonly number[], classes: number): ModelSpec {
  const tokens = text.split(',').map((t) => t.trim());
  const layers: LayerSpec[] = tokens.map((token, i) => {
    try {
      return parseToken(token);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      throw new ConfigError(`${PARSE_ARCH}: token ${i + 1} '${token}': ${e.message}\n  ${text}\n  ${' '.repeat(offsetOf(tokens, i))}${'^'.repeat(Math.max(1, token.length))}`);
    }
  });
  const spec: ModelSpec = { inputSize: size(inputShape), classes, layers };
  if (inputShape.length > 1) spec.inputShape = [...inputShape];
  try {
    validateSpec(spec);
  } catch (e) {
    throw e instanceof ConfigError ? new ConfigError(`${PARSE_ARCH}: ${e.message}`) : e;
  }
  return spec;
}

function offsetOf(tokens: readonly string[], i: number): number {
  return tokens.slice(0, i).reduce((s, t) => s + t.length + 1, 0);
}

function parseToken(token: string): LayerSpec {
  const [name, arg, ...rest] = token.split(':');
  if (rest.length > 0) throw new ConfigError('too many colons');
  const int = (s: string | undefined, what: string) => {
    if (s === undefined || !/^\d+$/.test(s) || Number(s) <= 0) throw new ConfigError(`${what} must be a positive integer, got '${s ?? ''}'`);
    return Number(s);
  };
  const none = () => {
    if (arg !== undefined) throw new ConfigError(`'${name}' takes no argument`);
  };
  switch (name) {
    case 'dense': return { type: 'dense', units: int(arg, 'dense units') };
    case 'conv': {
      const m = /^(\d+)x(\d+)(?:s(\d+))?(?:p(\d+))?$/.exec(arg ?? '');
      if (!m) throw new ConfigError("expected conv:FILTERSxKERNEL with optional sSTRIDE and pPADDING, e.g. conv:32x3 or conv:64x3s2p1");
      const conv: LayerSpec = { type: 'conv2d', filters: int(m[1], 'conv filters'), kernel: int(m[2], 'conv kernel size') };
      if (m[3] !== undefined) conv.stride = int(m[3], 'conv stride');
      if (m[4] !== undefined) conv.padding = Number(m[4]);
      return conv;
    }
    case 'pool': case 'maxpool': case 'avgpool': {
      const m = /^(\d+)(?:s(\d+))?$/.exec(arg ?? '');
      if (!m) throw new ConfigError(`expected ${name}:SIZE with optional sSTRIDE, e.g. ${name}:2 or ${name}:3s2`);
      const pool = { type: name === 'avgpool' ? 'avgpool2d' as const : 'maxpool2d' as const, size: int(m[1], 'pool size') };
      return m[2] === undefined ? pool : { ...pool, stride: int(m[2], 'pool stride') };
    }
    case 'gap': none(); return { type: 'globalavgpool' };
    case 'flatten': none(); return { type: 'flatten' };
    case 'bn': {
      if (arg === undefined) return { type: 'batchnorm' };
      const momentum = Number(arg);
      if (!(arg.trim() !== '' && momentum > 0 && momentum <= 1)) throw new ConfigError(`batchnorm momentum must be in (0, 1], got '${arg}'`);
      return { type: 'batchnorm', momentum };
    }
    case 'ln': none(); return { type: 'layernorm' };
    case 'relu': case 'tanh': case 'gelu': none(); return { type: name };
    case 'dropout': {
      const rate = Number(arg);
      if (arg === undefined || arg.trim() === '' || !(rate >= 0 && rate < 1)) throw new ConfigError(`dropout rate must be in [0, 1), got '${arg ?? ''}'`);
      return { type: 'dropout', rate };
    }
    default:
      throw new ConfigError(`unknown layer '${name}' (known: dense, conv, pool, maxpool, avgpool, gap, flatten, bn, ln, relu, tanh, gelu, dropout)`);
  }
}

/** A layer as its `--arch` token: the inverse of parseToken for what the string can say. */
export function archToken(l: LayerSpec): string {
  switch (l.type) {
    case 'dense': return `dense:${l.units}`;
    case 'conv2d': return `conv:${l.filters}x${l.kernel}${l.stride && l.stride !== 1 ? `s${l.stride}` : ''}${l.padding ? `p${l.padding}` : ''}`;
    case 'maxpool2d': case 'avgpool2d':
      return `${l.type === 'maxpool2d' ? 'pool' : 'avgpool'}:${l.size}${l.stride !== undefined && l.stride !== l.size ? `s${l.stride}` : ''}`;
    case 'globalavgpool': return 'gap';
    case 'flatten': return 'flatten';
    case 'batchnorm': return l.momentum !== undefined && l.momentum !== BATCHNORM_DEFAULTS.momentum ? `bn:${l.momentum}` : 'bn';
    case 'layernorm': return 'ln';
    case 'dropout': return `dropout:${l.rate}`;
    default: return l.type;
  }
}

/** A one-line description for logs: "784-256-256-10 relu" for MLPs, the arch string otherwise. */
export function describeSpec(spec: ModelSpec): string {
  const mlp = spec.layers.every((l) => l.type === 'dense' || l.type === 'relu' || l.type === 'tanh' || l.type === 'gelu' || l.type === 'dropout');
  if (!mlp) return `${formatShape(inputShapeOf(spec))} → ${spec.layers.map(archToken).join(',')}`;
  const widths = [spec.inputSize, ...spec.layers.filter((l) => l.type === 'dense').map((l) => (l as { units: number }).units)];
  const extras = spec.layers.filter((l) => l.type !== 'dense').map((l) => l.type === 'dropout' ? `dropout(${l.rate})` : l.type);
  return `${widths.join('-')} ${[...new Set(extras)].join(',')}`.trim();
}

export interface ParamShape { name: string; shape: number[]; kind: ParamKind }

/**
 * Each layer's name, the prefix of its parameters' names: its type's prefix and its 1-based
 * count among layers of that prefix (dense1, relu1, dense2, bn1, …). The one place that names
 * layers: the model, the summaries, the model file and every export use it.
 */
export function layerNames(spec: Pick<ModelSpec, 'layers'>): string[] {
  const counts = new Map<string, number>();
  return spec.layers.map((l) => {
    const prefix = LAYER_PREFIX[l.type];
    const n = (counts.get(prefix) ?? 0) + 1;
    counts.set(prefix, n);
    return `${prefix}${n}`;
  });
}

/** Names, shapes and kinds of a spec's parameters, without building the model (for masks and P). */
export function paramShapes(spec: ModelSpec): ParamShape[] {
  const shapes = layerShapes(spec);
  const names = layerNames(spec);
  const out: ParamShape[] = [];
  spec.layers.forEach((l, i) => {
    const name = names[i], input = shapes[i];
    switch (l.type) {
      case 'dense':
        out.push({ name: `${name}.weight`, shape: [l.units, size(input)], kind: 'dense-weight' }, { name: `${name}.bias`, shape: [l.units], kind: 'bias' });
        break;
      case 'conv2d':
        out.push({ name: `${name}.weight`, shape: [l.filters, input[0], l.kernel, l.kernel], kind: 'conv-kernel' }, { name: `${name}.bias`, shape: [l.filters], kind: 'bias' });
        break;
      case 'batchnorm':
        out.push({ name: `${name}.weight`, shape: [input[0]], kind: 'norm-gain' }, { name: `${name}.bias`, shape: [input[0]], kind: 'norm-shift' });
        break;
      case 'layernorm':
        out.push({ name: `${name}.weight`, shape: [...input], kind: 'norm-gain' }, { name: `${name}.bias`, shape: [...input], kind: 'norm-shift' });
        break;
    }
  });
  return out;
}
