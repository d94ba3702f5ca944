/**
 * A ridgeline run re-emitted as a Keras 3 script: the same MLP (a Sequential of Dense layers
 * named as ridgeline names them), the same initial weights, the same batches in the same order
 * (`train_on_batch` per batch), and the regularization in Keras' own knobs, converted by the
 * library's converter: coupled λ_E as `regularizers.L2` on each decayed tensor (keras:l2, added to
 * the batch-mean loss), decoupled c as the optimizer's `weight_decay` (keras3:weight_decay, with
 * the tensors ridgeline did not decay excluded), lr-independent decay by hand. Keras is not
 * installable where ridgeline is tested, so the script is emitted and syntax-checked only, and
 * says so. Layers other than an MLP's are refused. Pure.
 */
import { ConfigError } from '../errors.js';
import { archToken, layerNames } from '../nn/spec.js';
import { peakLearningRate } from '../optim/schedule.js';
import type { TrainConfig } from '../train/trainer.js';
import { expressIn, parameterGroups } from './export-plan.js';
import { PYTHON_DATA, PYTHON_FILES, PYTHON_REPORT, lrFunction, py, pyString, scriptConstants, scriptHeader, type ScriptInput } from './python-script.js';

export interface KerasPlan {
  /** The Sequential's layers, as Python expressions. */
  layers: string[];
  dense: string[];
  /** The optimizer's constructor. */
  optimizer: string;
  /** Parameters the optimizer's weight_decay must skip (ridgeline did not decay them). */
  undecayed: string[];
  /** [parameter names, δ] decayed by hand after each step. */
  stepDecay: [string[], number][];
  notes: string[];
}

const refuse = (why: string): never => { throw new ConfigError(`export --to keras: ${why}`); };

export function kerasPlan(config: TrainConfig): KerasPlan {
  const spec = config.model, names = layerNames(spec), o = config.optimizer;
  if ((o.dampening ?? 0) !== 0) refuse(`Keras' SGD has no dampening (this run: ${o.dampening})`);
  if (Object.values(o.lrScale ?? {}).some((s) => s !== 1)) refuse('a Keras optimizer has one learning rate for every variable; this run scales some (muP)');
  const groups = parameterGroups(config);
  const l2 = new Map<string, number>();
  for (const g of groups) for (const n of g.names) if (g.lambdaE > 0) l2.set(n, expressIn(g.lambdaE, 'seed', 'keras', config));
  const decoupled = [...new Set(groups.map((g) => g.decoupled).filter((c) => c > 0))];
  if (decoupled.length > 1) refuse(`a Keras optimizer has one weight_decay; this run decays with ${decoupled.join(' and ')} on different tensors`);
  const weightDecay = decoupled.length ? expressIn(decoupled[0], 'pytorch-adamw', 'keras3', config) : 0;
  const regularizer = (n: string) => (l2.has(n) ? `regularizers.L2(${py(l2.get(n)!)})` : 'None');

  const layers = ['keras.Input(shape=(IN,))'], dense: string[] = [];
  spec.layers.forEach((l, i) => {
    const name = pyString(names[i]);
    switch (l.type) {
      case 'dense':
        dense.push(names[i]);
        layers.push(`layers.Dense(${l.units}, name=${name}, kernel_regularizer=${regularizer(`${names[i]}.weight`)}, bias_regularizer=${regularizer(`${names[i]}.bias`)})`);
        break;
      case 'relu': case 'tanh': layers.push(`layers.Activation(${pyString(l.type)}, name=${name})`); break;
      // Keras' gelu defaults to the tanh approximation; ridgeline's is the exact erf form.
      case 'gelu': layers.push(`layers.Activation(lambda x: keras.activations.gelu(x, approximate=False), name=${name})`); break;
      case 'dropout': layers.push(`layers.Dropout(${py(l.rate)}, name=${name})`); break;
      case 'flatten': break; // the input is already flat
      default: refuse(`the Keras export covers MLPs (dense, relu, tanh, gelu, dropout); it cannot express layer ${i + 1} (${archToken(l)}): export --to pytorch can`);
    }
  });

  const wd = weightDecay > 0 ? `, weight_decay=${py(weightDecay)}` : '';
  const adamArgs = `learning_rate=LR, beta_1=${py(o.b1 ?? 0.9)}, beta_2=${py(o.b2 ?? 0.999)}, epsilon=${py(o.eps ?? 1e-8)}${wd}`;
  const optimizer = (() => {
    switch (o.name) {
      case 'sgd': return `keras.optimizers.SGD(learning_rate=LR${wd})`;
      case 'momentum': return `keras.optimizers.SGD(learning_rate=LR, momentum=${py(o.momentum ?? 0.9)}${wd})`;
      case 'nesterov': return `keras.optimizers.SGD(learning_rate=LR, momentum=${py(o.momentum ?? 0.9)}, nesterov=True${wd})`;
      case 'adam': return `keras.optimizers.Adam(${adamArgs})`;
      case 'adamw': return weightDecay > 0 ? `keras.optimizers.AdamW(${adamArgs})` : `keras.optimizers.Adam(${adamArgs})`;
    }
  })();
  const undecayed = weightDecay > 0 ? groups.filter((g) => g.decoupled === 0).flatMap((g) => g.names) : [];
  const notes = [
    'Regularization (ridgeline → Keras 3, by ridgeline\'s `convert`):',
    ...[...l2].map(([n, v]) => `  ${n}: coupled λ_E → regularizers.L2(${v}) (keras:l2, λ_E = c: l2·Σw² added to the batch-mean loss)`),
    ...(weightDecay > 0 ? [`  decoupled c = ${decoupled[0]} (δ_t = η_t·c) → optimizer weight_decay = ${weightDecay} (keras3:weight_decay, δ_t = η_t·c)${undecayed.length ? `; excluded: ${undecayed.join(', ')}` : ''}`] : []),
    ...groups.filter((g) => g.step > 0).map((g) => `  ${g.names.join(', ')}: step decay δ = ${g.step} → w·(1 − δ) by hand after each step (ridgeline shrinks in the same update: they differ by δ·η·g per step)`),
    ...(l2.size === 0 && weightDecay === 0 && !groups.some((g) => g.step > 0) ? ['  none'] : []),
    ...config.regularization.filter((t) => t.scaling?.per === 'batch').map((t) => `${t.given} divides by each batch's own size; a Keras regularizer cannot, so the last (partial) batch of each epoch gets the nominal batch's coefficient here.`),
    ...(o.name === 'adam' || o.name === 'adamw' ? ['Keras\' Adam adds ε to the raw √v (as scikit-learn), ridgeline to √v̂ = √(v/(1 − β2^t)): the updates differ by about ε/√v̂ relative, early in training.'] : []),
    ...((o.name === 'momentum' || o.name === 'nesterov') && o.schedule.type !== 'constant' ? ['Keras\' SGD velocity holds steps (v ← μ·v − η_t·g), ridgeline\'s buffer gradients (b ← μ·b + g, w ← w − η_t·b): under a changing η they differ.'] : []),
    ...(spec.layers.some((l) => l.type === 'dropout') ? ['Dropout masks come from Keras\' RNG, not ridgeline\'s: equal in distribution, not step for step.'] : []),
  ];
  return { layers, dense, optimizer, undecayed, stepDecay: groups.filter((g) => g.step > 0).map((g) => [g.names, g.step]), notes };
}

export function kerasScript(input: ScriptInput, plan: KerasPlan): string {
  const o = input.config.optimizer;
  return `${scriptHeader('keras', 'Keras 3', input, [
    'EMITTED AND SYNTAX-CHECKED ONLY: Keras is not installable where ridgeline is built and tested (no Debian',
    'package, and only the npm registry and Debian are reachable there), so this script has not been run.',
    'It is written against the Keras 3 API (keras.optimizers.*(weight_decay=…), exclude_from_weight_decay,',
    'train_on_batch) and runs on any Keras 3 backend.',
  ])}

import gzip, json, math, struct, sys
import numpy as np
import keras
from keras import layers, regularizers

${scriptConstants(input, peakLearningRate(o.schedule))}
IN = ${input.config.model.inputSize}
DENSE = ${JSON.stringify(plan.dense)}
UNDECAYED = ${JSON.stringify(plan.undecayed)}
STEP_DECAY = ${JSON.stringify(plan.stepDecay)}


${PYTHON_FILES}


${PYTHON_REPORT}


${lrFunction(o.schedule)}


keras.utils.set_random_seed(0)
${PYTHON_DATA}
X = images.reshape(len(images), IN)
Y = labels

model = keras.Sequential([
${plan.layers.map((l) => `    ${l},`).join('\n')}
])
init = read_safetensors(INIT)
for d in DENSE:  # Keras stores a Dense kernel [in, out], ridgeline (as PyTorch) [out, in]
    model.get_layer(d).set_weights([init[d + ".weight"].T, init[d + ".bias"]])


def variable(name):
    """The Keras variable of a ridgeline parameter name (dense1.weight → the kernel of layer dense1)."""
    layer, kind = name.split(".")
    return getattr(model.get_layer(layer), "kernel" if kind == "weight" else "bias")


opt = ${plan.optimizer}
if UNDECAYED:
    opt.exclude_from_weight_decay(var_list=[variable(n) for n in UNDECAYED])
model.compile(optimizer=opt, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

for step, idx in batches():
    opt.learning_rate = lr_at(step)
    model.train_on_batch(X[idx], Y[idx])
    for names, d in STEP_DECAY:
        for n in names:
            v = variable(n)
            v.assign(v * (1 - d))

final = {}
for d in DENSE:
    kernel, bias = model.get_layer(d).get_weights()
    final[d + ".weight"] = kernel.T
    final[d + ".bias"] = bias
pred = model.predict(test_x.reshape(len(test_x), IN), batch_size=1000, verbose=0).argmax(1)
report(final, pred, test_y, step + 1)
`;
}
