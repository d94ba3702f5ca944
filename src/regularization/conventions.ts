/**
 * Every framework's regularization coefficient, as data: what it means in ridgeline's
 * canonical units (regularization.md, "Canonical quantities"), which context it reads, where
 * its framework applies it, and which parameters that framework decays by default.
 *
 * Three kinds, three canonical units, three places in the transform chain:
 *
 *   coupled    λ_E: E = mean CE + λ_E·Σw². Gradient 2λ_E·w added before the moments.
 *   decoupled  c:   each step shrinks w by δ_t = η_t·c, outside the moments (AdamW).
 *   step       δ:   each step shrinks w by δ, whatever η (tf-addons SGDW, brain.js).
 *
 * A convention maps its coefficient to its kind's canonical value and back, reading only the
 * context it lists in `needs`. Crossing kinds is a separate, explicit step (see convert.ts):
 * it is exact for no optimizer and meaningful only without adaptive moments.
 */
import { ConfigError } from '../errors.js';
import { contextField, regularizationField } from './fields.js';
import type { DecaySelection } from './mask.js';

export type Kind = 'coupled' | 'decoupled' | 'step';

/** Symbols of regularization.md: η, B, N, μ, P, T (epochs), m (width multiplier). */
export interface ConventionContext {
  /** η, the (peak) learning rate. */
  lr?: number;
  /** B, the batch size. */
  batch?: number;
  /** N, the number of training examples. */
  n?: number;
  /** μ, heavy-ball momentum (0 without). */
  momentum?: number;
  /** P, the number of decayed parameters (of the model, or of one tensor). */
  params?: number;
  /** T, the number of training epochs. */
  epochs?: number;
  /** m, width / base width (muP). */
  widthMult?: number;
}
export type ContextKey = keyof ConventionContext;

/** The command-line flag that supplies each piece of context (the CLI's help and tables). */
export const CONTEXT_FLAGS: Record<ContextKey, string> = {
  lr: '--lr', batch: '--batch', n: '--n', momentum: '--momentum', params: '--params', epochs: '--epochs', widthMult: '--width-mult',
};

export interface Convention {
  /** Used on the command line: `<id>:<param>=<value>`. */
  readonly id: string;
  readonly param: string;
  readonly framework: string;
  readonly kind: Kind;
  /** The canonical value in terms of c, as printed by `ridgeline conventions`. */
  readonly formula: string;
  /** Where the framework does it, to check against. */
  readonly source: string;
  readonly needs: readonly ContextKey[];
  /** The framework's own default choice of decayed parameters (for --decay-params framework). */
  readonly decays: DecaySelection;
  /**
   * How ridgeline applies it beyond a plain coefficient: 'batch' divides by each step's actual
   * batch size (scikit-learn's last, smaller batch gets a larger coefficient), 'tensor' divides
   * by each tensor's size (per-weight normalized, per tensor), 'mup' scales hidden matrices.
   */
  readonly per?: 'batch' | 'tensor' | 'mup';
  readonly notes?: string;
  toCanonical(c: number, ctx: Required<ConventionContext>): number;
  fromCanonical(v: number, ctx: Required<ConventionContext>): number;
}

const coupled = (c: Omit<Convention, 'kind'>): Convention => ({ ...c, kind: 'coupled' });
const decoupled = (c: Omit<Convention, 'kind'>): Convention => ({ ...c, kind: 'decoupled' });
const step = (c: Omit<Convention, 'kind'>): Convention => ({ ...c, kind: 'step' });
const same = (v: number) => v;
const half = (v: number) => v / 2;
const twice = (v: number) => 2 * v;

export const CONVENTIONS: readonly Convention[] = [
  coupled({
    id: 'seed', param: 'lambda', framework: 'ridgeline / the seed objective E = mean CE + λ·Σw²',
    formula: 'λ_E = c', source: 'regularization.md', needs: [], decays: 'weights', toCanonical: same, fromCanonical: same,
  }),
  coupled({
    id: 'keras', param: 'l2', framework: 'Keras / tf.keras regularizers.l2(c) on a layer kernel',
    formula: 'λ_E = c', source: 'keras/regularizers.py L2.__call__: l2 * sum(square(x)), added to the batch-mean loss',
    needs: [], decays: 'weights', toCanonical: same, fromCanonical: same,
  }),
  coupled({
    id: 'tfjs', param: 'l2', framework: 'TensorFlow.js tf.regularizers.l2({l2: c})',
    formula: 'λ_E = c', source: 'tfjs-layers/src/regularizers.ts L1L2.apply: l2 * sum(square(x))',
    needs: [], decays: 'weights', toCanonical: same, fromCanonical: same,
  }),
  coupled({
    id: 'pytorch-sgd', param: 'weight_decay', framework: 'PyTorch torch.optim.SGD(weight_decay=c)',
    formula: 'λ_E = c/2', source: 'torch/optim/sgd.py: d_p = d_p.add(param, alpha=weight_decay), before the momentum buffer',
    needs: [], decays: 'all', toCanonical: half, fromCanonical: twice,
  }),
  coupled({
    id: 'pytorch-adam', param: 'weight_decay', framework: 'PyTorch torch.optim.Adam(weight_decay=c) (coupled L2, not AdamW)',
    formula: 'λ_E = c/2', source: 'torch/optim/adam.py: grad = grad.add(param, alpha=weight_decay), before exp_avg/exp_avg_sq',
    needs: [], decays: 'all', toCanonical: half, fromCanonical: twice,
  }),
  coupled({
    id: 'tf1', param: 'scale', framework: 'TF1 tf.contrib.layers.l2_regularizer(scale=c)',
    formula: 'λ_E = c/2', source: 'tf.contrib.layers.l2_regularizer: scale * tf.nn.l2_loss(w) = scale·Σw²/2',
    needs: [], decays: 'weights', toCanonical: half, fromCanonical: twice,
  }),
  coupled({
    id: 'per-weight', param: 'c', framework: 'per-weight normalized over the model: c/P · Σw²',
    formula: 'λ_E = c/P (P = decayed parameters of the model)', source: 'regularization.md (the asker\'s proposal)',
    needs: ['params'], decays: 'weights', toCanonical: (c, x) => c / x.params, fromCanonical: (v, x) => v * x.params,
  }),
  coupled({
    id: 'per-weight-tensor', param: 'c', framework: 'per-weight normalized per tensor: Σ_t c/P_t · Σ_{w∈t} w²',
    formula: 'λ_E,t = c/P_t (P_t = size of tensor t)', source: 'regularization.md; seen in detection codebases that divide L2 by tensor size',
    needs: ['params'], decays: 'weights', per: 'tensor',
    notes: `each tensor gets its own λ_E; \`convert\` reads ${contextField('params')} as the size of one tensor`,
    toCanonical: (c, x) => c / x.params, fromCanonical: (v, x) => v * x.params,
  }),
  coupled({
    id: 'bengio', param: 'c', framework: 'Bengio (2012): dataset-summed criterion Σ_i ℓ_i + c·Σw², penalty weighted B/N per minibatch',
    formula: 'λ_E = c/N', source: 'arXiv 1206.5533 §3.1 (weight decay scaled by the number of minibatches)',
    needs: ['n'], decays: 'weights', toCanonical: (c, x) => c / x.n, fromCanonical: (v, x) => v * x.n,
  }),
  coupled({
    id: 'nielsen', param: 'lambda', framework: "Nielsen's book: C = C0 + (λ/2n)·Σw²",
    formula: 'λ_E = c/(2N)', source: 'neuralnetworksanddeeplearning.com ch. 3, eq. (85)',
    needs: ['n'], decays: 'weights', toCanonical: (c, x) => c / (2 * x.n), fromCanonical: (v, x) => 2 * v * x.n,
  }),
  coupled({
    id: 'sklearn-mlp', param: 'alpha', framework: "scikit-learn MLPClassifier(alpha=c, solver='sgd'|'adam')",
    formula: 'λ_E = c/(2B)', source: 'sklearn/neural_network/_multilayer_perceptron.py _backprop: loss += 0.5·alpha·Σ‖W‖²/n_samples (n_samples = this batch)',
    needs: ['batch'], decays: 'weights', per: 'batch',
    notes: 'divided by each batch\'s own size, so a smaller last batch is penalized more (as in scikit-learn)',
    toCanonical: (c, x) => c / (2 * x.batch), fromCanonical: (v, x) => 2 * v * x.batch,
  }),
  coupled({
    id: 'sklearn-lbfgs', param: 'alpha', framework: "scikit-learn MLPClassifier(alpha=c, solver='lbfgs') (full batch)",
    formula: 'λ_E = c/(2N)', source: 'as sklearn-mlp with n_samples = N',
    needs: ['n'], decays: 'weights', toCanonical: (c, x) => c / (2 * x.n), fromCanonical: (v, x) => 2 * v * x.n,
  }),
  coupled({
    id: 'sklearn-logreg', param: 'C', framework: 'scikit-learn LogisticRegression(C=c): C·Σℓ_i + ½‖w‖²',
    formula: 'λ_E = 1/(2·c·N)', source: 'sklearn/linear_model/_logistic.py (objective C·Σ loss + ½‖w‖²)',
    needs: ['n'], decays: 'weights', toCanonical: (c, x) => 1 / (2 * c * x.n), fromCanonical: (v, x) => 1 / (2 * v * x.n),
  }),
  coupled({
    id: 'convnetjs', param: 'l2_decay', framework: 'ConvNetJS Trainer({l2_decay: c, batch_size: B}) × layer l2_decay_mul',
    formula: 'λ_E = c/(2B) (× l2_decay_mul per layer)', source: 'convnetjs/src/convnet_trainers.js: gij = (l2_decay·l2_decay_mul·p + g)/batch_size',
    needs: ['batch'], decays: 'weights', toCanonical: (c, x) => c / (2 * x.batch), fromCanonical: (v, x) => 2 * v * x.batch,
  }),
  coupled({
    id: 'gaussian-prior', param: 'sigma2', framework: 'Gaussian prior N(0, σ²) per weight, MAP on the mean loss',
    formula: 'λ_E = 1/(2σ²N)', source: '−log p(w)/N = Σw²/(2σ²N)',
    needs: ['n'], decays: 'weights', toCanonical: (c, x) => 1 / (2 * c * x.n), fromCanonical: (v, x) => 1 / (2 * v * x.n),
  }),
  decoupled({
    id: 'pytorch-adamw', param: 'weight_decay', framework: 'PyTorch torch.optim.AdamW(weight_decay=c)',
    formula: 'δ_t = η_t·c', source: 'torch/optim/adamw.py: param.mul_(1 - lr * weight_decay), outside the moments',
    needs: [], decays: 'all', toCanonical: same, fromCanonical: same,
  }),
  decoupled({
    id: 'optax-adamw', param: 'weight_decay', framework: 'optax.adamw(weight_decay=c)',
    formula: 'δ_t = η_t·c', source: 'optax/_src/alias.py adamw: chain(scale_by_adam, add_decayed_weights(c), scale_by_learning_rate)',
    needs: [], decays: 'all', toCanonical: same, fromCanonical: same,
  }),
  decoupled({
    id: 'keras3', param: 'weight_decay', framework: 'Keras 3 / tf.keras ≥ 2.11 optimizer(weight_decay=c) (SGD, Adam, …)',
    formula: 'δ_t = η_t·c', source: 'keras/optimizers/base_optimizer.py _apply_weight_decay: variable -= variable·wd·lr, outside momentum',
    needs: [], decays: 'all', toCanonical: same, fromCanonical: same,
  }),
  decoupled({
    id: 'fastai', param: 'wd', framework: 'fastai Learner(wd=c) (true_wd, wd_bn_bias=False)',
    formula: 'δ_t = η_t·c', source: 'fastai/optimizer.py weight_decay: p.data.mul_(1 - lr*wd); bias and norm params excluded',
    needs: [], decays: 'weights', toCanonical: same, fromCanonical: same,
  }),
  decoupled({
    id: 'timescale', param: 'tau', framework: 'Wang & Aitchison (2024): AdamW timescale τ in epochs',
    formula: 'c = B/(N·τ·η)  (δ = B/(N·τ) per step at the peak η)', source: 'arXiv 2405.13698: τ_iter = 1/(η·λ), τ_epoch = τ_iter·B/N',
    needs: ['batch', 'n', 'lr'], decays: 'all',
    toCanonical: (c, x) => x.batch / (x.n * c * x.lr), fromCanonical: (v, x) => x.batch / (x.n * v * x.lr),
  }),
  decoupled({
    id: 'normalized', param: 'wd_norm', framework: 'Loshchilov & Hutter (2019) normalized weight decay',
    formula: 'c = c_norm·√(B/(N·T))', source: 'arXiv 1711.05101 §B.1: λ = λ_norm·sqrt(b/(B·T))',
    needs: ['batch', 'n', 'epochs'], decays: 'all',
    toCanonical: (c, x) => c * Math.sqrt(x.batch / (x.n * x.epochs)), fromCanonical: (v, x) => v / Math.sqrt(x.batch / (x.n * x.epochs)),
  }),
  decoupled({
    id: 'mup-adamw', param: 'weight_decay', framework: 'microsoft/mup MuAdamW(weight_decay=c) at width multiplier m',
    formula: 'hidden matrices: lr/m and wd·m, so δ_t = η_t·c is held; others: δ_t = η_t·c', source: 'mup/optim.py MuAdam: matrix-like groups lr /= width_mult, weight_decay *= width_mult',
    needs: [], decays: 'all', per: 'mup',
    notes: `training needs ${regularizationField('widthMult')}; ridgeline applies the optimizer side of muP (per-group lr and wd); MuReadout\'s output scaling is a model change it does not make`,
    toCanonical: same, fromCanonical: same,
  }),
  step({
    id: 'tfa-sgdw', param: 'weight_decay', framework: 'tf-addons SGDW(weight_decay=c)',
    formula: 'δ = c per step', source: 'tensorflow_addons/optimizers/weight_decay_optimizers.py: var.assign_sub(weight_decay * var)',
    needs: [], decays: 'all', toCanonical: same, fromCanonical: same,
  }),
  step({
    id: 'tfa-adamw', param: 'weight_decay', framework: 'tf-addons AdamW(weight_decay=c)',
    formula: 'δ = c per step', source: 'tensorflow_addons/optimizers/weight_decay_optimizers.py (same extension)',
    needs: [], decays: 'all', toCanonical: same, fromCanonical: same,
  }),
  step({
    id: 'brainjs', param: 'regc', framework: 'brain.js (recurrent) regc',
    formula: 'δ = c per step', source: 'brain.js src/recurrent/rnn.ts adjustWeights: value -= learningRate·… + regc·value',
    needs: [], decays: 'all', toCanonical: same, fromCanonical: same,
  }),
];

export function findConvention(id: string): Convention {
  const c = CONVENTIONS.find((x) => x.id === id);
  if (!c) throw new ConfigError(`unknown convention '${id}' (known: ${CONVENTIONS.map((x) => x.id).join(', ')})`);
  return c;
}

/** A coefficient as a user wrote it: `sklearn-mlp:alpha=0.064`. */
export interface GivenCoefficient {
  convention: Convention;
  value: number;
  /** The text as given, recorded with the run. */
  text: string;
}

/**
 * Parses `<convention>:<param>=<value>`. `--l2 1e-4` (a bare number) is the seed's λ_E and
 * `--decay 0.01` is PyTorch AdamW's c; `defaultId` says which.
 */
export function parseCoefficient(text: string, defaultId: string, what: string): GivenCoefficient {
  const trimmed = text.trim();
  const m = /^([\w-]+):([\w]+)=(.*)$/.exec(trimmed);
  let convention: Convention, raw: string;
  if (m) {
    convention = findConvention(m[1]);
    if (m[2] !== convention.param) {
      throw new ConfigError(`${what}: convention '${convention.id}' has no parameter '${m[2]}' (it takes ${convention.param}=…)`);
    }
    raw = m[3];
  } else if (/^[^:=]*$/.test(trimmed)) {
    convention = findConvention(defaultId);
    raw = trimmed;
  } else {
    throw new ConfigError(`${what}: expected a number or <convention>:<param>=<value>, got '${text}'`);
  }
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) throw new ConfigError(`${what}: '${raw}' is not a finite number`);
  if (value < 0) throw new ConfigError(`${what}: coefficients must be non-negative, got '${raw.trim()}'`);
  if (value === 0 && (convention.id === 'sklearn-logreg' || convention.id === 'gaussian-prior' || convention.id === 'timescale')) {
    throw new ConfigError(`${what}: ${convention.id} ${convention.param} must be positive (it divides)`);
  }
  return { convention, value, text: m ? trimmed : `${convention.id}:${convention.param}=${raw.trim()}` };
}

/** Fills the context a convention needs, or names the field that is missing. */
export function requireContext(conv: Convention, ctx: ConventionContext, what = conv.id): Required<ConventionContext> {
  for (const key of conv.needs) {
    const v = ctx[key];
    if (v === undefined) throw new ConfigError(`${what} depends on ${symbol(key)}: give ${contextField(key)}`);
    if (!(Number.isFinite(v) && v > 0)) throw new ConfigError(`${contextField(key)} must be a positive number, got ${v}`);
  }
  return { lr: NaN, batch: NaN, n: NaN, params: NaN, epochs: NaN, widthMult: NaN, ...ctx, momentum: ctx.momentum ?? 0 };
}

export function symbol(key: ContextKey): string {
  return { lr: 'η', batch: 'B', n: 'N', momentum: 'μ', params: 'P', epochs: 'T', widthMult: 'm' }[key];
}
