/**
 * The training loop for the seed objective E = mean CE + λ_E·Σ_{decayed} w². Browser-capable:
 * files, progress bars and signals belong to the caller, which hears about each epoch through
 * `onEpoch` (where the CLI writes metrics and checkpoints).
 *
 * One step: gather a batch, forward, fused softmax-CE, backward, then the transform chain
 * [masked(add_l2_gradient), ...optimizer recipe] turns the gradients into updates in place
 * (the grad buffers double as update buffers, so after a step they hold the applied update),
 * and the updates are added to the parameters. The chain and the addition run as one pass per
 * parameter on the backend (optim/fused.ts) when every transform describes itself.
 */
import type { Dataset } from '../data/dataset.js';
import { DivergenceError, ConfigError } from '../errors.js';
import { encodeModel } from '../format/model-file.js';
import { floats, type Backend } from '../kernels/backend.js';
import { SoftmaxCrossEntropy } from '../loss/softmax-cross-entropy.js';
import { Sequential } from '../nn/sequential.js';
import { formatShape, inputShapeOf, layerShapes, type ModelSpec } from '../nn/spec.js';
import { OPTIMIZERS, type OptimizerConfig } from '../optim/recipes.js';
import { createSchedule, peakLearningRate } from '../optim/schedule.js';
import { flattenState, restoreState, type FlatState } from '../optim/state.js';
import { Updater } from '../optim/fused.js';
import { transformNames, type GradientTransformation, type StepContext } from '../optim/transform.js';
import { decayMask, selectParams } from '../regularization/mask.js';
import { squaredNorm } from '../regularization/penalty.js';
import { validatePlan, type RegTerm } from '../regularization/plan.js';
import { summarizeRegularization, type DecayGroup } from '../regularization/summary.js';
import { isWeightKind, type Param } from '../tensor/param.js';
import { Rng, type RngState } from '../tensor/rng.js';
import { argmaxRow, evaluate, type Evaluation } from './evaluate.js';
import { shouldStopEarly } from './early-stop.js';
import { buildUpdate, Penalty } from './objective.js';

export interface TrainConfig {
  model: ModelSpec;
  optimizer: OptimizerConfig;
  /**
   * The regularization terms in canonical units, each with its own parameter selection: coupled
   * λ_E (the seed objective's penalty), decoupled decay, or lr-independent decay.
   */
  regularization: RegTerm[];
  batchSize: number;
  epochs: number;
  seed: number;
}

/** How errors name the TrainConfig fields a caller sets (the CLI prints its flags: src/cli/flags.ts). */
export const CONFIG_FIELDS = { batchSize: 'config.batchSize', epochs: 'config.epochs', optimizer: 'config.optimizer.name' } as const;

export interface EpochMetrics {
  epoch: number;
  step: number;
  /** Learning rate of the epoch's last step. */
  lr: number;
  /** Means over the epoch's steps, each at the parameters the step started from. */
  data_loss: number;
  penalty: number;
  total: number;
  /** Accuracy of the training forward passes during the epoch (dropout active). */
  train_accuracy: number;
  val_loss: number | null;
  val_accuracy: number | null;
  /** Σ w² over the decayed parameters at the end of the epoch. */
  weight_norm_sq: number;
  seconds: number;
}

/** Everything a resumed run needs to continue bit-identically. */
export interface TrainerState {
  epoch: number;
  step: number;
  /** Parameters and buffers (BatchNorm running statistics), by name. */
  params: Map<string, Float32Array>;
  optimizer: FlatState;
  rng: { shuffle: RngState; dropout: RngState };
  history: EpochMetrics[];
}

export interface FitCallbacks {
  /** After each epoch's metrics; awaited, so checkpoints finish before the next epoch. */
  onEpoch?: (metrics: EpochMetrics, trainer: Trainer) => void | Promise<void>;
  /** After each step, with the step's total loss. Keep it cheap. */
  onStep?: (stepInEpoch: number, stepsPerEpoch: number, loss: number) => void;
  /** Checked between steps; an aborted fit returns after the current step without saving. */
  signal?: AbortSignal;
  /**
   * End training once this many optimizer steps are done in total, mid-epoch if need be (a
   * budget in steps rather than epochs); that last, partial epoch still reports its metrics.
   */
  maxSteps?: number;
  /** Stop once the best validation CE is this many epochs behind (train/early-stop.ts). */
  earlyStopPatience?: number;
}

/**
 * A mean softmax CE this many times ln(classes) (the loss of a uniform guess) means logits in
 * the thousands: the run has diverged even if the numbers are still finite.
 */
const DIVERGED_LOSS_FACTOR = 1000;

/** How often the loop yields to the event loop (progress redraws, signal handlers). */
const YIELD_EVERY_MS = 100;

export class Trainer {
  readonly model: Sequential;
  /** Parameters some term decays (all weights when there is no term), for the weight norm. */
  readonly decayed: readonly Param[];
  readonly transform: GradientTransformation<any>;
  /** Runs `transform` and w ← w + u each step, fused on the backend when it can be. */
  readonly updater: Updater;
  readonly stepsPerEpoch: number;
  epoch = 0;
  step = 0;
  readonly history: EpochMetrics[] = [];
  private readonly optState: unknown;
  private readonly loss: SoftmaxCrossEntropy;
  private readonly penalty: Penalty;
  private readonly stepContext: StepContext = { batchSize: 0 };
  private readonly shuffleRng: Rng;
  private readonly order: Int32Array;
  private readonly xBatch: Float32Array;
  private readonly yBatch: Int32Array;
  private readonly updates: Float32Array[];

  constructor(readonly config: TrainConfig, readonly backend: Backend, readonly train: Dataset, readonly validation?: Dataset) {
    if (!(Number.isInteger(config.batchSize) && config.batchSize > 0)) throw new ConfigError(`${CONFIG_FIELDS.batchSize} must be a positive integer, got ${config.batchSize}`);
    if (!OPTIMIZERS.includes(config.optimizer?.name)) {
      throw new ConfigError(`${CONFIG_FIELDS.optimizer} must be one of ${OPTIMIZERS.join(', ')}, got ${JSON.stringify(config.optimizer?.name)}`);
    }
    if (!(Number.isInteger(config.epochs) && config.epochs > 0)) throw new ConfigError(`${CONFIG_FIELDS.epochs} must be a positive integer, got ${config.epochs}`);
    if (train.count === 0) throw new ConfigError('the training set is empty');
    if (train.features !== config.model.inputSize) {
      throw new ConfigError(`the model expects ${config.model.inputSize} features per example, the data has ${train.features}`);
    }
    const modelShape = inputShapeOf(config.model);
    if (modelShape.length > 1 && modelShape.join('x') !== train.shape.join('x')) {
      throw new ConfigError(`the model expects ${formatShape(modelShape)} examples, the data's are ${formatShape(train.shape)}${train.shape.length === 1 ? ' (rows of images: give the dataset their shape, e.g. createDataset(images, labels, [1, 28, 28], classes))' : ''}`);
    }
    if (train.count % config.batchSize === 1 && config.model.layers.some((l) => l.type === 'batchnorm') &&
      layerShapes(config.model).some((s, i) => s.length === 1 && config.model.layers[i]?.type === 'batchnorm')) {
      throw new ConfigError(`the last batch of each epoch would hold one example (${train.count} rows, batch ${config.batchSize}), and batch normalization over flat features needs at least two; change the batch size or the number of rows`);
    }
    if (train.classes !== config.model.classes) {
      throw new ConfigError(`the model has ${config.model.classes} classes, the data has ${train.classes}`);
    }
    const batch = Math.min(config.batchSize, train.count);
    this.model = new Sequential(config.model, { backend, maxBatch: batch, seed: config.seed });
    this.loss = new SoftmaxCrossEntropy(backend, config.model.classes, batch);
    validatePlan(config.regularization);
    if (config.optimizer.name === 'adamw' && !config.regularization.some((t) => t.kind !== 'coupled')) {
      throw new ConfigError('adamw needs a decoupled decay (for example pytorch-adamw:weight_decay=0.01); without one it is adam');
    }
    const masks = config.regularization.map((t) => decayMask(t.decayParams));
    config.regularization.forEach((t, i) => selectParams(this.model.params, masks[i], t.decayParams)); // a selection that matches nothing is an error
    this.decayed = this.model.params.filter((p) => masks.length === 0 ? isWeightKind(p.kind) : masks.some((m) => m(p)));
    this.penalty = new Penalty(config.regularization, this.model.params, backend);
    // Coupled terms come before the moments (where PyTorch puts SGD's and Adam's
    // `weight_decay`), decoupled ones after them: see buildUpdate.
    this.transform = buildUpdate(config.optimizer, config.regularization);
    this.optState = this.transform.init(this.model.params, (n) => floats(backend, n));
    this.updater = new Updater(this.transform, backend);
    this.stepsPerEpoch = Math.ceil(train.count / config.batchSize);
    this.shuffleRng = shuffleRng(config.seed);
    this.order = new Int32Array(train.count);
    this.xBatch = floats(backend, batch * train.features);
    this.yBatch = new Int32Array(batch);
    this.updates = this.model.params.map((p) => p.grad);
  }

  /** Per-group λ_E, δ and epoch shrink, for the start-of-training printout. */
  regularizationSummary(): DecayGroup[] {
    const o = this.config.optimizer;
    return summarizeRegularization(this.model.params, this.config.regularization, {
      optimizer: o.name, lr: peakLearningRate(o.schedule),
      momentum: o.name === 'momentum' || o.name === 'nesterov' ? (o.momentum ?? 0.9) : undefined,
      stepsPerEpoch: this.stepsPerEpoch, batchSize: this.config.batchSize, lrScale: o.lrScale,
    });
  }

  /** Names of the parameters some regularization term decays (none without a term). */
  decayedNames(): string[] {
    return this.config.regularization.length === 0 ? [] : this.decayed.map((p) => p.name);
  }

  /** The transform chain in application order, e.g. [masked(add_l2_gradient), trace_momentum, scale_by_learning_rate]. */
  chainNames(): string[] {
    return transformNames(this.transform);
  }

  /** Trains until `config.epochs` epochs are complete (continuing from `epoch` after a restore). */
  async fit(callbacks: FitCallbacks = {}): Promise<EpochMetrics[]> {
    const patience = callbacks.earlyStopPatience;
    if (patience !== undefined && !(this.validation && this.validation.count > 0)) throw new ConfigError('early stopping needs validation rows');
    while (this.epoch < this.config.epochs && (callbacks.maxSteps === undefined || this.step < callbacks.maxSteps)) {
      if (patience !== undefined && this.history.length > 0 && shouldStopEarly(this.history, patience)) break;
      const metrics = await this.runEpoch(callbacks);
      if (!metrics) break; // aborted
      await callbacks.onEpoch?.(metrics, this);
    }
    return this.history;
  }

  /** Whether early stopping with this patience has ended (or would end) the run here. */
  stoppedEarly(patience: number | undefined): boolean {
    return patience !== undefined && this.epoch < this.config.epochs && this.history.length > 0 && shouldStopEarly(this.history, patience);
  }

  /** One epoch; undefined when aborted through the signal (state is then mid-epoch, not saved). */
  async runEpoch(callbacks: FitCallbacks = {}): Promise<EpochMetrics | undefined> {
    const started = now();
    const { train } = this;
    const B = this.config.batchSize, F = train.features;
    const schedule = createSchedule(this.config.optimizer.schedule);
    nextEpochOrder(this.shuffleRng, this.order);
    let dataSum = 0, penaltySum = 0, correct = 0, seen = 0, lastYield = started;
    const steps = callbacks.maxSteps === undefined ? this.stepsPerEpoch : Math.min(this.stepsPerEpoch, callbacks.maxSteps - this.step);
    for (let s = 0; s < steps; s++) {
      const start = s * B, batch = Math.min(B, train.count - start);
      const x = this.xBatch.subarray(0, batch * F), y = this.yBatch.subarray(0, batch);
      for (let r = 0; r < batch; r++) {
        const src = this.order[start + r];
        x.set(train.images.subarray(src * F, src * F + F), r * F);
        y[r] = train.labels[src];
      }
      const { dataLoss, penalty, hits } = this.trainStep(x, y, batch);
      dataSum += dataLoss;
      penaltySum += penalty;
      correct += hits;
      seen += batch;
      callbacks.onStep?.(s + 1, this.stepsPerEpoch, dataLoss + penalty);
      if (now() - lastYield > YIELD_EVERY_MS) {
        await new Promise((r) => setTimeout(r, 0));
        lastYield = now();
        if (callbacks.signal?.aborted) return undefined;
      }
    }
    this.epoch++;
    const val: Evaluation | null = this.validation && this.validation.count > 0 ? evaluate(this.model, this.validation) : null;
    const metrics: EpochMetrics = {
      epoch: this.epoch, step: this.step, lr: schedule(this.step - 1),
      data_loss: dataSum / steps, penalty: penaltySum / steps,
      total: (dataSum + penaltySum) / steps,
      train_accuracy: correct / seen,
      val_loss: val ? val.loss : null, val_accuracy: val ? val.accuracy : null,
      weight_norm_sq: squaredNorm(this.decayed, this.backend),
      seconds: (now() - started) / 1000,
    };
    this.history.push(metrics);
    return metrics;
  }

  /**
   * One optimization step on a batch. Returns the data term and penalty at the parameters the
   * step started from, and the number of correct predictions. Throws DivergenceError (before
   * touching the parameters) when the loss is not finite.
   */
  trainStep(x: Float32Array, y: Int32Array, batch: number): { dataLoss: number; penalty: number; hits: number } {
    const { model } = this;
    model.zeroGrad();
    const logits = model.forward(x, batch, true);
    const dataLoss = this.loss.forwardBackward(logits, y, batch);
    const penalty = this.penalty.value(batch);
    if (!Number.isFinite(dataLoss + penalty) || dataLoss > DIVERGED_LOSS_FACTOR * Math.log(model.spec.classes)) {
      throw new DivergenceError(
        `training diverged at epoch ${this.epoch + 1}, step ${this.step + 1}: loss is ${(dataLoss + penalty).toPrecision(4)} ` +
        `(data ${dataLoss.toPrecision(4)}, penalty ${penalty.toPrecision(4)}). Lower the learning rate or the regularization.`);
    }
    let hits = 0;
    for (let r = 0; r < batch; r++) if (argmaxRow(logits, r, model.spec.classes) === y[r]) hits++;
    model.backward(this.loss.grad(batch), batch);
    this.stepContext.batchSize = batch;
    this.updater.apply(this.updates, this.optState, model.params, this.stepContext);
    this.step++;
    return { dataLoss, penalty, hits };
  }

  evaluate(data: Dataset): Evaluation {
    return evaluate(this.model, data);
  }

  /**
   * The model file's bytes as it stands (safetensors: weights and buffers in PyTorch's layout,
   * the architecture, the training config, the regularization per group and the epoch in its
   * metadata, plus `metadata`); `loadModelBytes` reads them back, and so does any safetensors
   * reader. Node writes them with `atomicWriteFile` (ridgeline/node), a page as a Blob.
   */
  save(metadata: Record<string, string> = {}): Uint8Array {
    return encodeModel(this.model.spec, this.model.tensors, {
      training: JSON.stringify(this.config), regularization: JSON.stringify(this.regularizationSummary()), epoch: String(this.epoch), ...metadata,
    });
  }

  /** A snapshot for a checkpoint; tensors are copies, so training may continue. */
  state(): TrainerState {
    const opt = flattenState(this.optState);
    return {
      epoch: this.epoch, step: this.step,
      params: new Map(this.model.tensors.map((p) => [p.name, p.value.slice()])),
      optimizer: { tensors: new Map([...opt.tensors].map(([k, v]) => [k, v.slice()])), scalars: { ...opt.scalars } },
      rng: { shuffle: this.shuffleRng.state(), dropout: this.model.dropoutRng.state() },
      history: this.history.map((h) => ({ ...h })),
    };
  }

  /** Restores a snapshot taken from a trainer with the same config. */
  restore(state: TrainerState, what = 'checkpoint'): void {
    for (const p of this.model.tensors) {
      const v = state.params.get(p.name);
      if (!v) throw new ConfigError(`${what} has no parameter ${p.name}`);
      if (v.length !== p.value.length) throw new ConfigError(`${what}: parameter ${p.name} has ${v.length} values, the model needs ${p.value.length}`);
      p.value.set(v);
    }
    restoreState(this.optState, state.optimizer, 'opt', what);
    this.shuffleRng.setState(state.rng.shuffle);
    this.model.dropoutRng.setState(state.rng.dropout);
    this.epoch = state.epoch;
    this.step = state.step;
    this.history.length = 0;
    this.history.push(...state.history);
  }
}

const now = () => performance.now();

/** The RNG that orders the training rows, from the run's seed. */
export const shuffleRng = (seed: number) => Rng.derive(seed, 'shuffle');

/**
 * The order of the training rows in the next epoch: 0…n−1 shuffled by the run's shuffle RNG.
 * Written once: the trainer uses it, and `export --to pytorch` replays it for the script.
 */
export function nextEpochOrder(rng: Rng, order: Int32Array): void {
  for (let i = 0; i < order.length; i++) order[i] = i;
  rng.shuffle(order);
}
