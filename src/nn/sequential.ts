/**
 * A Sequential model: layers applied in order, parameters named by layer ("dense1.weight").
 * Built from a ModelSpec; the same spec and seed give bit-identical initial weights.
 */
import type { Backend } from '../kernels/backend.js';
import { initialize, type InitName } from '../tensor/init.js';
import type { Param } from '../tensor/param.js';
import { Rng } from '../tensor/rng.js';
import { GELU, ReLU, Tanh } from './activations.js';
import { Dense } from './dense.js';
import { Dropout } from './dropout.js';
import type { Layer, LayerContext } from './layer.js';
import { validateSpec, type LayerSpec, type ModelSpec } from './spec.js';

export interface BuildOptions {
  backend: Backend;
  /** The largest batch forward/backward will see; buffers are sized for it once. */
  maxBatch: number;
  /** Seed for initial weights. Dropout draws from its own stream, `dropoutRng`. */
  seed: number;
}

export class Sequential {
  readonly layers: readonly Layer[];
  readonly params: readonly Param[];
  /** Dropout masks; its state is saved in checkpoints so a resumed run draws the same masks. */
  readonly dropoutRng: Rng;

  constructor(readonly spec: ModelSpec, readonly options: BuildOptions) {
    validateSpec(spec);
    const ctx: LayerContext = { backend: options.backend, maxBatch: options.maxBatch };
    this.dropoutRng = Rng.derive(options.seed, 'dropout');
    const counts = new Map<string, number>();
    const nameFor = (type: string) => {
      const n = (counts.get(type) ?? 0) + 1;
      counts.set(type, n);
      return `${type}${n}`;
    };
    const layers: Layer[] = [];
    let width = spec.inputSize;
    for (const l of spec.layers) {
      const layer = createLayer(l, nameFor(l.type), width, ctx, this.dropoutRng);
      layers.push(layer);
      width = layer.outputSize;
    }
    this.layers = layers;
    this.params = layers.flatMap((l) => l.params);
    this.initialize(Rng.derive(options.seed, 'init'));
  }

  get paramCount(): number {
    return this.params.reduce((s, p) => s + p.value.length, 0);
  }

  /** He for layers feeding ReLU/GELU, Glorot otherwise (tanh, and the logits layer); zero biases. */
  private initialize(rng: Rng): void {
    this.spec.layers.forEach((l, i) => {
      if (l.type !== 'dense') return;
      const layer = this.layers[i] as Dense;
      const next = this.spec.layers.slice(i + 1).find((s) => s.type !== 'dropout');
      const init: InitName = l.init ?? (next && (next.type === 'relu' || next.type === 'gelu') ? 'he' : 'glorot');
      initialize(init, layer.weight.value, layer.inputSize, layer.outputSize, rng);
      layer.bias.value.fill(0);
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

function createLayer(spec: LayerSpec, name: string, width: number, ctx: LayerContext, dropoutRng: Rng): Layer {
  switch (spec.type) {
    case 'dense': return new Dense(name, width, spec.units, ctx);
    case 'relu': return new ReLU(name, width, ctx);
    case 'tanh': return new Tanh(name, width, ctx);
    case 'gelu': return new GELU(name, width, ctx);
    case 'dropout': return new Dropout(name, width, spec.rate, dropoutRng, ctx);
  }
}
