/**
 * A Sequential model: layers applied in order, parameters named by layer ("conv1.weight",
 * "bn1.running_mean"). Built from a ModelSpec; the same spec and seed give bit-identical
 * initial weights.
 */
import type { Backend } from '../kernels/backend.js';
import { initialize, type InitName } from '../tensor/init.js';
import type { ModelBuffer, Param } from '../tensor/param.js';
import { Rng } from '../tensor/rng.js';
import { FusedActivation, GELU, ReLU, Tanh } from './activations.js';
import { AvgPool2d } from './avgpool2d.js';
import { BatchNorm } from './batchnorm.js';
import { Conv2d } from './conv2d.js';
import { Dense } from './dense.js';
import { Dropout } from './dropout.js';
import { Flatten } from './flatten.js';
import type { Layer, LayerContext } from './layer.js';
import { LayerNorm } from './layernorm.js';
import { MaxPool2d } from './maxpool2d.js';
import { BATCHNORM_DEFAULTS, checkModelSize, LAYERNORM_DEFAULTS, layerNames, layerShapes, validateSpec, type LayerSpec, type ModelSpec } from './spec.js';

export interface BuildOptions {
  backend: Backend;
  /** The largest batch forward/backward will see; buffers are sized for it once. */
  maxBatch: number;
  /** Seed for initial weights. Dropout draws from its own stream, `dropoutRng`. */
  seed: number;
  /**
   * Fuse a ReLU into the BatchNorm right before it (default true): the same bits in fewer
   * passes over memory. False keeps every layer separate (tests compare the two).
   */
  fuse?: boolean;
}

export class Sequential {
  readonly layers: readonly Layer[];
  readonly params: readonly Param[];
  /** Saved, not trained: BatchNorm running statistics. */
  readonly buffers: readonly ModelBuffer[];
  /** Dropout masks; its state is saved in checkpoints so a resumed run draws the same masks. */
  readonly dropoutRng: Rng;

  constructor(readonly spec: ModelSpec, readonly options: BuildOptions) {
    validateSpec(spec);
    checkModelSize(spec, options.maxBatch);
    const shapes = layerShapes(spec);
    const ctx: LayerContext = { backend: options.backend, maxBatch: options.maxBatch };
    this.dropoutRng = Rng.derive(options.seed, 'dropout');
    const names = layerNames(spec);
    const fuse = options.fuse ?? true;
    const fusedRelu = (i: number) => fuse && spec.layers[i]?.type === 'relu' && spec.layers[i - 1]?.type === 'batchnorm';
    this.layers = spec.layers.map((l, i) => {
      const name = names[i];
      if (fusedRelu(i)) return new FusedActivation(name, shapes[i].reduce((a, b) => a * b, 1));
      return createLayer(l, name, shapes[i], ctx, this.dropoutRng, fusedRelu(i + 1));
    });
    this.params = this.layers.flatMap((l) => l.params);
    this.buffers = this.layers.flatMap((l) => l.buffers ?? []);
    this.initialize(Rng.derive(options.seed, 'init'));
  }

  get paramCount(): number {
    return this.params.reduce((s, p) => s + p.value.length, 0);
  }

  /** Parameters and buffers: everything a model file or checkpoint holds. */
  get tensors(): readonly ModelBuffer[] {
    return [...this.params, ...this.buffers];
  }

  /**
   * He for weights whose output next meets ReLU/GELU (through BN, pooling or dropout), Glorot
   * otherwise (tanh, and the logits layer); zero biases; norm gains 1 and shifts 0. Weights
   * draw from one stream in layer order, so an MLP's initial weights are unchanged by the
   * other layer types existing.
   */
  private initialize(rng: Rng): void {
    this.spec.layers.forEach((l, i) => {
      const layer = this.layers[i];
      if (layer instanceof BatchNorm || layer instanceof LayerNorm) layer.reset();
      if (l.type !== 'dense' && l.type !== 'conv2d') return;
      const next = this.spec.layers.slice(i + 1).find((s) => !PASS_THROUGH.has(s.type));
      const init: InitName = l.init ?? (next && (next.type === 'relu' || next.type === 'gelu') ? 'he' : 'glorot');
      const [fanIn, fanOut] = layer instanceof Conv2d ? layer.fans : [layer.inputSize, layer.outputSize];
      const { weight, bias } = layer as Dense | Conv2d;
      initialize(init, weight.value, fanIn, fanOut, rng);
      bias.value.fill(0);
    });
  }

  /** x: batch × inputSize → logits batch × classes (a view of the last layer's buffer). */
  forward(x: Float32Array, batch: number, training: boolean): Float32Array {
    let h = x;
    for (const layer of this.layers) h = layer.forward(h, batch, training);
    return h;
  }

  /** Backpropagates dlogits, accumulating into every parameter's grad. */
  backward(dlogits: Float32Array, batch: number): void {
    let g = dlogits;
    for (let i = this.layers.length - 1; i >= 0; i--) g = this.layers[i].backward(g, batch, i > 0);
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad.fill(0);
  }

  param(name: string): Param {
    const p = this.params.find((q) => q.name === name);
    if (!p) throw new Error(`no parameter named ${name}`);
    return p;
  }
}

/** Layers between a weight and its activation that do not change which initializer fits. */
const PASS_THROUGH = new Set<LayerSpec['type']>(['dropout', 'batchnorm', 'layernorm', 'maxpool2d', 'avgpool2d', 'flatten']);

function createLayer(spec: LayerSpec, name: string, input: number[], ctx: LayerContext, dropoutRng: Rng, reluAfter: boolean): Layer {
  const size = input.reduce((a, b) => a * b, 1);
  switch (spec.type) {
    case 'dense': return new Dense(name, size, spec.units, ctx);
    case 'conv2d': return new Conv2d(name, input, spec.filters, spec.kernel, spec.stride ?? 1, spec.padding ?? 0, ctx);
    case 'maxpool2d': return new MaxPool2d(name, input, spec.size, spec.stride ?? spec.size, ctx);
    case 'avgpool2d': return new AvgPool2d(name, input, spec.size, spec.stride ?? spec.size, ctx);
    case 'globalavgpool': return new AvgPool2d(name, input, 'global', 1, ctx);
    case 'flatten': return new Flatten(name, size);
    case 'batchnorm': return new BatchNorm(name, input, spec.momentum ?? BATCHNORM_DEFAULTS.momentum, spec.eps ?? BATCHNORM_DEFAULTS.eps, ctx, reluAfter);
    case 'layernorm': return new LayerNorm(name, input, spec.eps ?? LAYERNORM_DEFAULTS.eps, ctx);
    case 'relu': return new ReLU(name, size, ctx);
    case 'tanh': return new Tanh(name, size, ctx);
    case 'gelu': return new GELU(name, size, ctx);
    case 'dropout': return new Dropout(name, size, spec.rate, dropoutRng, ctx);
  }
}
