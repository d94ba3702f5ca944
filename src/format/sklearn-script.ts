/**
 * A ridgeline run re-emitted as a scikit-learn script: `MLPClassifier` driven by `partial_fit`,
 * one call per batch, on ridgeline's rows in ridgeline's order, from ridgeline's initial weights,
 * with `alpha` converted from λ_E per batch size by the library's converter. What sklearn cannot
 * express (another layer, another activation, decayed biases, per-layer coefficients, decoupled
 * decay, dampening, per-parameter learning rates, two classes) is refused by `sklearnPlan` with
 * the reason; what it expresses differently (the per-batch alpha, Adam's ε, the velocity under a
 * schedule, the schedule itself) is emulated exactly and said in the script. Pure.
 */
import { ConfigError } from '../errors.js';
import { archToken, layerNames } from '../nn/spec.js';
import { createSchedule, peakLearningRate } from '../optim/schedule.js';
import type { TrainConfig } from '../train/trainer.js';
import { batchSizes, expressIn, parameterGroups } from './export-plan.js';
import { PYTHON_DATA, PYTHON_FILES, PYTHON_REPORT, comment, lrFunction, py, pyString, scriptConstants, scriptHeader, type ScriptInput } from './python-script.js';

export interface SklearnPlan {
  /** hidden_layer_sizes, activation, and the names of the dense layers (coefs_[k] is dense{k+1}). */
  hidden: number[];
  activation: 'relu' | 'tanh';
  dense: string[];
  solver: 'sgd' | 'adam';
  /** [batch size, λ_E, alpha] for every batch size of an epoch: alpha = 2·B_step·λ_E. */
  alpha: [number, number, number][];
  /** ridgeline's schedule is not constant: the script sets the learning rate before each step. */
  scheduled: boolean;
  /** Adam with ridgeline's (PyTorch's) ε placement: sklearn's epsilon is set to ε·√(1 − β2^t) each step. */
  correctEps: boolean;
}

const refuse = (why: string): never => { throw new ConfigError(`export --to sklearn: ${why}`); };

/** How sklearn's MLPClassifier runs this ridgeline run exactly, or a ConfigError naming what it cannot express. */
export function sklearnPlan(config: TrainConfig, trainRows: number, steps: number): SklearnPlan {
  const spec = config.model, names = layerNames(spec);
  const hidden: number[] = [], dense: string[] = [], activations = new Set<string>();
  let expectDense = true;
  spec.layers.forEach((l, i) => {
    const at = `layer ${i + 1} (${archToken(l)})`;
    if (l.type === 'flatten' && i === 0) return;
    if (l.type === 'dense' && expectDense) {
      dense.push(names[i]);
      hidden.push(l.units);
      expectDense = false;
    } else if ((l.type === 'relu' || l.type === 'tanh') && !expectDense) {
      activations.add(l.type);
      expectDense = true;
    } else if (l.type === 'gelu') {
      refuse(`MLPClassifier has no gelu (${at}); its activations are relu, tanh, logistic and identity`);
    } else {
      refuse(`MLPClassifier is dense layers with one activation between them; it cannot express ${at}: export --to pytorch can`);
    }
  });
  if (expectDense) refuse('the network must end with a dense layer');
  hidden.pop();
  if (activations.size > 1) refuse(`MLPClassifier uses one activation for every hidden layer; this network has ${[...activations].join(' and ')}`);
  if (spec.classes < 3) refuse(`with ${spec.classes} classes MLPClassifier has one logistic output unit, not ridgeline's softmax over ${spec.classes}`);

  const o = config.optimizer;
  if ((o.dampening ?? 0) !== 0) refuse(`sklearn's momentum has no dampening (this run: ${o.dampening})`);
  if (Object.values(o.lrScale ?? {}).some((s) => s !== 1)) refuse('sklearn has one learning rate for every parameter; this run scales some (muP)');
  const momentum = o.name === 'momentum' || o.name === 'nesterov';
  const scheduled = o.schedule.type !== 'constant';
  if (momentum && scheduled) {
    // The velocity is rescaled by η_t/η_{t−1} before each step: η_{t−1} = 0 would lose it.
    const lr = createSchedule(o.schedule);
    for (let t = 0; t + 1 < steps; t++) if (lr(t) === 0) refuse(`the schedule reaches η = 0 at step ${t + 1} under momentum, where sklearn's velocity (v = μv − η·g) cannot carry ridgeline's buffer`);
  }

  const weights = new Set(dense.map((d) => `${d}.weight`));
  const alpha = [...new Set(batchSizes(trainRows, config.batchSize))].map((b): [number, number, number] => {
    const groups = parameterGroups(config, b);
    for (const g of groups) {
      if (g.decoupled > 0) refuse(`sklearn has no decoupled weight decay; this run decays ${g.names.join(', ')} by c = ${g.decoupled} per unit of η (δ_t = η_t·c)`);
      if (g.step > 0) refuse(`sklearn has no learning-rate-independent decay; this run shrinks ${g.names.join(', ')} by δ = ${g.step} per step`);
    }
    const decayed = groups.filter((g) => g.lambdaE > 0);
    const biases = decayed.flatMap((g) => g.names).filter((n) => !weights.has(n));
    if (biases.length) refuse(`sklearn's alpha never decays biases; this run decayed ${biases.join(', ')} (train with --decay-params weights, or export --to pytorch)`);
    if (decayed.length > 1) refuse(`sklearn has one alpha for every weight matrix; this run has ${decayed.map((g) => `λ_E = ${g.lambdaE} on ${g.names.join(', ')}`).join(' and ')}`);
    const missed = [...weights].filter((n) => decayed.length === 1 && !decayed[0].names.includes(n));
    if (missed.length) refuse(`sklearn's alpha decays every weight matrix; this run did not decay ${missed.join(', ')}`);
    const lambdaE = decayed[0]?.lambdaE ?? 0;
    return [b, lambdaE, lambdaE === 0 ? 0 : expressIn(lambdaE, 'seed', 'sklearn-mlp', config, b)];
  });
  const adam = o.name === 'adam' || o.name === 'adamw';
  const activation = (activations.values().next().value ?? 'relu') as 'relu' | 'tanh';
  return { hidden, activation, dense, solver: adam ? 'adam' : 'sgd', alpha, scheduled, correctEps: adam && o.epsilon !== 'uncorrected' };
}

/** The conversion notes for the script's header. */
export function sklearnNotes(plan: SklearnPlan): string[] {
  return [
    `Regularization: ridgeline's coupled L2 on ${plan.dense.map((d) => `${d}.weight`).join(', ')} (biases not decayed) → MLPClassifier(alpha), per batch size:`,
    ...plan.alpha.map(([b, lambdaE, alpha]) => `  B_step = ${b}: λ_E = ${lambdaE} → alpha = 2·B_step·λ_E = ${alpha}`),
  ];
}

/** scikit-learn's rules that differ from ridgeline's, and what the script does about each. */
function quirks(plan: SklearnPlan): string[] {
  return [
    "scikit-learn's own rules, and how this script meets the ridgeline run exactly:",
    "- alpha is divided by each batch's own size: the penalty gradient is alpha·W/B_step, so λ_E =",
    '  alpha/(2·B_step) and, at a fixed alpha, a short last batch gets a larger per-sample penalty.',
    "  ALPHA holds alpha for each batch size and is set before each step, so every step applies",
    "  ridgeline's λ_E for that batch (alpha = 2·B_step·λ_E, ridgeline's `convert` to sklearn-mlp:alpha).",
    '- Biases (intercepts_) are never decayed: the export checked that the run decayed exactly the weight',
    '  matrices, with one coefficient (it refuses runs that decayed biases or layers differently).',
    "- Adam's ε is added to the raw √v (the bias corrections are folded into the step size); ridgeline's",
    "  and PyTorch's ε is added to √v̂ = √(v/(1 − β2^t)). The two are one update when sklearn's epsilon is",
    `  ε·√(1 − β2^t)${plan.solver === 'sgd' ? ' (this run is SGD: no ε).' : plan.correctEps ? ', which eps_at(t) sets before each step.' : '; this run used sklearn\'s placement, so epsilon is ε as given.'}`,
    "- Momentum: sklearn's velocity holds steps (v ← μ·v − η_t·g; w ← w + v), ridgeline's (PyTorch's) buffer",
    '  holds gradients (b ← μ·b + g; w ← w − η_t·b); the same at a constant η, and when η changes the velocity',
    '  is rescaled by η_t/η_{t−1} before the step, which keeps v = −η_t·b.',
    "- Learning rate: sklearn's schedules are 'constant', 'invscaling' and 'adaptive', not ridgeline's;",
    `  ${plan.scheduled ? "this run's schedule is emulated exactly: the optimizer's learning rate is set to lr_at(t) before each step." : "this run's is constant."}`,
    '- Order: sklearn shuffles in its own way. Here partial_fit is called once per batch with shuffle=False, on',
    "  ridgeline's rows in ridgeline's order (ROWS), so each step sees the examples ridgeline's step saw.",
    '- Initial weights: a first partial_fit on one batch builds the network; coefs_ and intercepts_ are then',
    "  replaced by ridgeline's initial weights (transposed: sklearn stores [in, out]) and the optimizer that",
    "  step created is dropped, so training starts from ridgeline's weights with zero velocity / moments.",
    "- This uses sklearn's private optimizer object (_optimizer: learning_rate, learning_rate_init, epsilon,",
    '  velocities), as scikit-learn 1.2 has it; the script stops with an error if it is not there.',
    '- sklearn computes in float64 here, ridgeline in float32: the weights agree to rounding, not bit for bit.',
  ];
}

export function sklearnScript(input: ScriptInput, plan: SklearnPlan): string {
  const o = input.config.optimizer;
  const lr = peakLearningRate(o.schedule);
  const momentum = o.name === 'momentum' || o.name === 'nesterov' ? o.momentum ?? 0.9 : 0;
  const solver = plan.solver === 'adam'
    ? `solver="adam", beta_1=${py(o.b1 ?? 0.9)}, beta_2=${py(o.b2 ?? 0.999)}, epsilon=${plan.correctEps ? 'eps_at(0)' : 'EPS'}`
    : `solver="sgd", momentum=${py(momentum)}, nesterovs_momentum=${o.name === 'nesterov' ? 'True' : 'False'}`;
  const perStep = plan.solver === 'adam'
    ? `    opt.learning_rate_init = lr_at(t)  # sklearn's step size is learning_rate_init·√(1 − β2^t)/(1 − β1^t)${plan.correctEps ? '\n    opt.epsilon = eps_at(t)' : ''}`
    : `${momentum > 0 && plan.scheduled ? '    if t > 0:\n        opt.velocities = [v * (lr_at(t) / lr_at(t - 1)) for v in opt.velocities]\n' : ''}    opt.learning_rate = lr_at(t)`;
  return `${scriptHeader('sklearn', 'scikit-learn (MLPClassifier)', input, ['Run with a Python that has scikit-learn and numpy (Debian: /usr/bin/python3 with python3-sklearn).'])}
#
${comment(quirks(plan))}

import gzip, json, math, struct, sys, warnings
import numpy as np
from sklearn.neural_network import MLPClassifier

# A short last batch is smaller than batch_size, which sklearn clips with a warning: that batch is one step, as in ridgeline.
warnings.filterwarnings("ignore", message="Got \`batch_size\` less than 1 or larger than sample size")

${scriptConstants(input, lr)}
${plan.solver === 'adam' ? `EPS = ${py(o.eps ?? 1e-8)}\nBETA_2 = ${py(o.b2 ?? 0.999)}\n` : ''}# alpha for each batch size of an epoch: 2·B_step·λ_E (see above)
ALPHA = {${plan.alpha.map(([b, , a]) => `${b}: ${py(a)}`).join(', ')}}
DENSE = ${JSON.stringify(plan.dense)}


${PYTHON_FILES}


${PYTHON_REPORT}


${lrFunction(o.schedule)}
${plan.correctEps ? `

def eps_at(t):
    """sklearn's epsilon that gives ridgeline's (PyTorch's) ε placement at update t."""
    return EPS * math.sqrt(1 - BETA_2 ** (t + 1))
` : ''}

${PYTHON_DATA}
X = images.reshape(len(images), -1).astype(np.float64)
Y = labels

clf = MLPClassifier(hidden_layer_sizes=(${plan.hidden.map((h) => `${h}, `).join('')}), activation=${pyString(plan.activation)}, alpha=ALPHA[min(BATCH, N)],
                    batch_size=BATCH, learning_rate="constant", learning_rate_init=lr_at(0), ${solver},
                    shuffle=False, max_iter=1, tol=0.0, n_iter_no_change=2**31 - 1, random_state=0)

# Build the network with one partial_fit, then start over from ridgeline's initial weights.
first = rows[0][:BATCH]
clf.partial_fit(X[first], Y[first], classes=np.arange(${input.config.model.classes}))
init = read_safetensors(INIT)
clf.coefs_ = [init[d + ".weight"].T.astype(np.float64) for d in DENSE]
clf.intercepts_ = [init[d + ".bias"].astype(np.float64) for d in DENSE]
if not hasattr(clf, "_optimizer"):
    sys.exit("this scikit-learn has no MLPClassifier._optimizer: the script needs scikit-learn 1.2's internals")
del clf._optimizer  # the next partial_fit creates a fresh one (zero velocity / moments, t = 0)


def set_step(t, b):
    """Before update t on a batch of b rows: alpha for that batch size, ridgeline's learning rate (and ε)."""
    clf.alpha = ALPHA[b]
    opt = getattr(clf, "_optimizer", None)
    if opt is None:  # the first update: partial_fit builds the optimizer from these
        clf.set_params(learning_rate_init=lr_at(t)${plan.correctEps ? ', epsilon=eps_at(t)' : ''})
        return
${perStep}


for step, idx in batches():
    set_step(step, len(idx))
    clf.partial_fit(X[idx], Y[idx])

final = {}
for d, w, b in zip(DENSE, clf.coefs_, clf.intercepts_):
    final[d + ".weight"] = w.T
    final[d + ".bias"] = b
pred = clf.predict(test_x.reshape(len(test_x), -1).astype(np.float64))
report(final, pred, test_y, step + 1)
`;
}
