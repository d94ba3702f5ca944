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
import type { ScheduleSpec } from '../optim/schedule.js';
import type { TrainConfig } from '../train/trainer.js';

export interface ParamGroup {
  names: string[];
  /** Coupled λ_E, decoupled c, lr-independent δ, learning-rate multiplier. */
  lambdaE: number;
  decoupled: number;
  step: number;
  lrScale: number;
}

export interface PytorchScriptInput {
  config: TrainConfig;
  groups: ParamGroup[];
  /** The IDX directory of the training and test images. */
  dataDir: string;
  /** The run's initial weights (safetensors) and the row order file (int32: epochs × N rows of the training file). */
  initPath: string;
  rowsPath: string;
  /** Training rows per epoch (N), and how many optimizer steps to run (the run's, or fewer). */
  trainRows: number;
  steps: number;
  /** Where the script writes its final weights (safetensors). */
  outWeights: string;
  /** Lines of the conversion note at the top (coefficients in both conventions, caveats). */
  notes: string[];
}

const py = (v: number) => (Number.isInteger(v) ? `${v}` : `${v}`);
const str = (s: string) => JSON.stringify(s);

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

/** ridgeline's schedule as a Python expression of the update count t (optim/schedule.ts). */
function schedulePython(s: ScheduleSpec): string {
  switch (s.type) {
    case 'constant': return `${py(s.lr)}`;
    case 'step': return `${py(s.lr)} * ${py(s.gamma)} ** (t // ${s.every})`;
    case 'cosine': return `${py(s.minLr)} + (${py(s.lr)} - ${py(s.minLr)}) * (1 + math.cos(math.pi * min(t, ${s.steps}) / ${s.steps})) / 2`;
    case 'warmup': return `((${schedulePythonAt(s.then, '0')}) * (t + 1) / ${s.steps} if t < ${s.steps} else (${schedulePythonAt(s.then, `t - ${s.steps}`)}))`;
  }
}

function schedulePythonAt(s: ScheduleSpec, t: string): string {
  return `(lambda t: ${schedulePython(s)})(${t})`;
}

function peak(s: ScheduleSpec): number {
  return s.type === 'warmup' ? peak(s.then) : s.lr;
}

export function pytorchScript(input: PytorchScriptInput): string {
  const { config } = input;
  const o = config.optimizer;
  const lr = peak(o.schedule);
  const shape = config.model.inputShape ?? [config.model.inputSize];
  const group = (g: ParamGroup) => {
    const wd = o.name === 'adamw' ? g.decoupled : 2 * g.lambdaE;
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
  return `#!/usr/bin/env python3
# Generated by \`ridgeline export --to pytorch\`: the same training as the ridgeline run, in PyTorch.
# Run with a Python that has torch and numpy (Debian: /usr/bin/python3 with python3-torch).
#
${input.notes.map((n) => `# ${n}`).join('\n')}
#
# It prints the final weights' checksum (the sum of |w| over every tensor) and the test accuracy
# in the format ridgeline's run prints them, and writes the final weights to OUT_WEIGHTS.

import gzip, json, math, struct, sys
from collections import OrderedDict
import numpy as np
import torch
import torch.nn as nn

DATA = ${str(input.dataDir)}
INIT = ${str(input.initPath)}
ROWS = ${str(input.rowsPath)}
OUT_WEIGHTS = ${str(input.outWeights)}
LR = ${py(lr)}
BATCH = ${config.batchSize}
STEPS = ${input.steps}
N = ${input.trainRows}


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\\x1f\\x8b":
        raw = gzip.decompress(raw)
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(t["shape"]).copy()
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = np.ascontiguousarray(t, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


torch.manual_seed(0)
torch.set_num_threads(1)
images = read_idx(DATA + "/train-images-idx3-ubyte.gz").astype(np.float32) / 255.0
labels = read_idx(DATA + "/train-labels-idx1-ubyte.gz").astype(np.int64)
X = torch.from_numpy(images.reshape(len(images), ${shape.join(', ')}))
Y = torch.from_numpy(labels)
rows = np.fromfile(ROWS, dtype="<i4").reshape(-1, N)

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


def lr_at(t):
    """ridgeline's learning rate at update t (its schedule, src/optim/schedule.ts)."""
    return ${schedulePython(o.schedule)}


# Relative to the peak LR: each group's lr carries its own multiplier.
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: lr_at(t) / LR)
loss_fn = nn.CrossEntropyLoss()
${manualCoupled.length ? `COUPLED = [(${'named[n]'}, ${'lam'}) for names, lam in ${JSON.stringify(manualCoupled.map((g) => [g.names, g.lambdaE]))} for n in names]\n` : ''}${stepDecay.length ? `STEP_DECAY = [(named[n], d) for names, d in ${JSON.stringify(stepDecay.map((g) => [g.names, g.step]))} for n in names]\n` : ''}${manualDecoupled.length ? `DECOUPLED = [(named[n], c, scale) for names, c, scale in ${JSON.stringify(manualDecoupled.map((g) => [g.names, g.decoupled, g.lrScale]))} for n in names]\n` : ''}
step = 0
for epoch_rows in rows:
    model.train()
    for s in range(0, N, BATCH):
        if step >= STEPS:
            break
        idx = torch.from_numpy(epoch_rows[s:s + BATCH].astype(np.int64))
        opt.zero_grad()
        loss = loss_fn(model(X[idx]), Y[idx])
        loss.backward()
${manualCoupled.length ? `        with torch.no_grad():
            for p, lam in COUPLED:
                p.grad.add_(p, alpha=2 * lam)
` : ''}${stepDecay.length ? `        with torch.no_grad():
            for p, d in STEP_DECAY:
                p.mul_(1 - d)
` : ''}${manualDecoupled.length ? `        with torch.no_grad():
            for p, c, scale in DECOUPLED:
                p.mul_(1 - lr_at(step) * scale * c)
` : ''}        opt.step()
        sched.step()
        step += 1

model.eval()
final = {k: v.detach().numpy() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
write_safetensors(OUT_WEIGHTS, final)
test_x = read_idx(DATA + "/t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0
test_y = read_idx(DATA + "/t10k-labels-idx1-ubyte.gz").astype(np.int64)
with torch.no_grad():
    pred = model(torch.from_numpy(test_x.reshape(len(test_x), ${shape.join(', ')}))).argmax(1).numpy()
checksum = sum(float(np.abs(v.astype(np.float64)).sum()) for v in final.values())
print(f"weights checksum {checksum:.6e}, test accuracy {100 * float((pred == test_y).mean()):.2f}% ({len(test_y)} images), {step} steps")
`;
}
