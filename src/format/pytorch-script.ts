/**
 * A ridgeline run re-emitted as a PyTorch script: the same network (nn.Sequential, modules named
 * as ridgeline names its parameters, so state_dict keys match), the same initial weights, the
 * same batches in the same order, and the regularization converted to PyTorch's own knobs:
 *
 *   coupled λ_E       SGD/Adam weight_decay = 2·λ_E (PyTorch adds wd·w to the gradient)
 *   decoupled c       AdamW weight_decay = c (w ← w·(1 − η·c), the same δ_t = η_t·c)
 *   step decay δ      w ← w·(1 − δ) before each step (no PyTorch built-in)
 *   learning rate     LambdaLR stepped per batch with ridgeline's own schedule formula
 *
 * Parameters with the same coefficients form one parameter group, so exactly the tensors
 * ridgeline decayed are decayed. Pure: returns the script's text.
 */
import { layerNames, layerShapes, type LayerSpec } from '../nn/spec.js';
import { peakLearningRate } from '../optim/schedule.js';
import type { TrainConfig } from '../train/trainer.js';
import { expressIn, type ParamGroup } from './export-plan.js';
import { PYTHON_DATA, PYTHON_FILES, PYTHON_REPORT, lrFunction, py, pyString as str, scriptConstants, scriptHeader, type ScriptInput } from './python-script.js';

/** Coupled λ_E as SGD's or Adam's weight_decay (2·λ_E), by the library's converter. */
export function torchWeightDecay(lambdaE: number, config: TrainConfig): number {
  return lambdaE === 0 ? 0 : expressIn(lambdaE, 'seed', config.optimizer.name === 'sgd' || config.optimizer.name === 'momentum' || config.optimizer.name === 'nesterov' ? 'pytorch-sgd' : 'pytorch-adam', config);
}

export interface PytorchScriptInput extends ScriptInput {
  groups: ParamGroup[];
}

/** The torch module for one layer (and a Flatten before a dense layer on an image). */
function modules(spec: TrainConfig['model']): string[] {
  const shapes = layerShapes(spec);
  const names = layerNames(spec);
  const out: string[] = [];
  spec.layers.forEach((l: LayerSpec, i) => {
    const name = names[i], input = shapes[i];
    const size = input.reduce((a, b) => a * b, 1);
    const add = (m: string, as = name) => out.push(`    (${str(as)}, ${m}),`);
    switch (l.type) {
      case 'dense':
        if (input.length > 1) add('nn.Flatten()', `${name}_flatten`);
        add(`nn.Linear(${size}, ${l.units})`);
        break;
      case 'conv2d': add(`nn.Conv2d(${input[0]}, ${l.filters}, ${l.kernel}, stride=${l.stride ?? 1}, padding=${l.padding ?? 0})`); break;
      case 'maxpool2d': add(`nn.MaxPool2d(${l.size}, stride=${l.stride ?? l.size})`); break;
      case 'avgpool2d': add(`nn.AvgPool2d(${l.size}, stride=${l.stride ?? l.size})`); break;
      case 'globalavgpool': add('nn.AdaptiveAvgPool2d(1)'); add('nn.Flatten()', `${name}_flatten`); break;
      case 'flatten': add('nn.Flatten()'); break;
      case 'batchnorm': add(`nn.BatchNorm${input.length === 3 ? '2' : '1'}d(${input[0]}, eps=${py(l.eps ?? 1e-5)}, momentum=${py(l.momentum ?? 0.1)})`); break;
      case 'layernorm': add(`nn.LayerNorm([${input.join(', ')}], eps=${py(l.eps ?? 1e-5)})`); break;
      case 'relu': add('nn.ReLU()'); break;
      case 'tanh': add('nn.Tanh()'); break;
      case 'gelu': add('nn.GELU()'); break;
      case 'dropout': add(`nn.Dropout(${l.rate})`); break;
    }
  });
  return out;
}

export function pytorchScript(input: PytorchScriptInput): string {
  const { config } = input;
  const o = config.optimizer;
  const lr = peakLearningRate(o.schedule);
  const shape = config.model.inputShape ?? [config.model.inputSize];
  const group = (g: ParamGroup) => {
    const wd = o.name === 'adamw' ? g.decoupled : torchWeightDecay(g.lambdaE, config);
    return `    {"params": [named[n] for n in ${JSON.stringify(g.names)}], "weight_decay": ${py(wd)}, "lr": ${py(lr * g.lrScale)}},`;
  };
  const optimizer = (() => {
    switch (o.name) {
      case 'sgd': return 'torch.optim.SGD(groups, lr=LR)';
      case 'momentum': return `torch.optim.SGD(groups, lr=LR, momentum=${py(o.momentum ?? 0.9)}, dampening=${py(o.dampening ?? 0)})`;
      case 'nesterov': return `torch.optim.SGD(groups, lr=LR, momentum=${py(o.momentum ?? 0.9)}, nesterov=True)`;
      case 'adam': return `torch.optim.Adam(groups, lr=LR, betas=(${py(o.b1 ?? 0.9)}, ${py(o.b2 ?? 0.999)}), eps=${py(o.eps ?? 1e-8)})`;
      case 'adamw': return `torch.optim.AdamW(groups, lr=LR, betas=(${py(o.b1 ?? 0.9)}, ${py(o.b2 ?? 0.999)}), eps=${py(o.eps ?? 1e-8)})`;
    }
  })();
  // AdamW's weight_decay is the decoupled one: a coupled term next to it goes into the gradient
  // by hand, and a decoupled decay under another optimizer is applied by hand as AdamW does it.
  const manualCoupled = o.name === 'adamw' ? input.groups.filter((g) => g.lambdaE > 0) : [];
  const manualDecoupled = o.name === 'adamw' ? [] : input.groups.filter((g) => g.decoupled > 0);
  const stepDecay = input.groups.filter((g) => g.step > 0);
  return `${scriptHeader('pytorch', 'PyTorch', input, ['Run with a Python that has torch and numpy (Debian: /usr/bin/python3 with python3-torch).'])}

import gzip, json, math, struct, sys
from collections import OrderedDict
import numpy as np
import torch
import torch.nn as nn

${scriptConstants(input, lr)}


${PYTHON_FILES}


${PYTHON_REPORT}


torch.manual_seed(0)
torch.set_num_threads(1)
${PYTHON_DATA}
X = torch.from_numpy(images.reshape(len(images), ${shape.join(', ')}))
Y = torch.from_numpy(labels)

model = nn.Sequential(OrderedDict([
${modules(config.model).join('\n')}
]))
init = {k: torch.from_numpy(v) for k, v in read_safetensors(INIT).items()}
state = model.state_dict()
for k in state:
    if k.endswith("num_batches_tracked"):
        init[k] = torch.tensor(0)
model.load_state_dict(init, strict=True)
named = dict(model.named_parameters())

groups = [
${input.groups.map(group).join('\n')}
]
opt = ${optimizer}


${lrFunction(o.schedule)}


# Relative to the peak LR: each group's lr carries its own multiplier.
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: lr_at(t) / LR)
loss_fn = nn.CrossEntropyLoss()
${manualCoupled.length ? `COUPLED = [(${'named[n]'}, ${'lam'}) for names, lam in ${JSON.stringify(manualCoupled.map((g) => [g.names, g.lambdaE]))} for n in names]\n` : ''}${stepDecay.length ? `STEP_DECAY = [(named[n], d) for names, d in ${JSON.stringify(stepDecay.map((g) => [g.names, g.step]))} for n in names]\n` : ''}${manualDecoupled.length ? `DECOUPLED = [(named[n], c, scale) for names, c, scale in ${JSON.stringify(manualDecoupled.map((g) => [g.names, g.decoupled, g.lrScale]))} for n in names]\n` : ''}
model.train()
for step, idx in batches():
    idx = torch.from_numpy(idx.astype(np.int64))
    opt.zero_grad()
    loss = loss_fn(model(X[idx]), Y[idx])
    loss.backward()
${manualCoupled.length ? `    with torch.no_grad():
        for p, lam in COUPLED:
            p.grad.add_(p, alpha=2 * lam)
` : ''}${stepDecay.length ? `    with torch.no_grad():
        for p, d in STEP_DECAY:
            p.mul_(1 - d)
` : ''}${manualDecoupled.length ? `    with torch.no_grad():
        for p, c, scale in DECOUPLED:
            p.mul_(1 - lr_at(step) * scale * c)
` : ''}    opt.step()
    sched.step()

model.eval()
final = {k: v.detach().numpy() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
with torch.no_grad():
    pred = model(torch.from_numpy(test_x.reshape(len(test_x), ${shape.join(', ')}))).argmax(1).numpy()
report(final, pred, test_y, step + 1)
`;
}
