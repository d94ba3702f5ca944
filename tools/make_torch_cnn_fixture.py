#!/usr/bin/python3
"""Generate the PyTorch parity fixture for ridgeline's CNN layers.

Run from the repository root with Debian's Python (the one that has torch):

    /usr/bin/python3 tools/make_torch_cnn_fixture.py

It writes test/fixtures/torch-cnn/cnn_bn.json. The model, in ridgeline's --arch:

    conv:4x3p1,bn,relu,pool:2,conv:6x3,bn,relu,avgpool:1,flatten,dense:10
    (input 1x10x10; shapes 4x10x10 -> 4x5x5 -> 6x3x3 -> 54 -> 10)

and as torch modules named like ridgeline's parameters (conv1, bn1, conv2, bn2, dense1), so
the state_dict keys are ridgeline's names. Training: SGD(lr=0.05, momentum=0.9,
weight_decay=5e-4), which decays every parameter (BN gains and biases too), on K batches of
B examples; CrossEntropyLoss (mean). The fixture records, all as exact float32 values:

  params_init      torch's default initialization (ridgeline loads it)
  batches          the K batches (x as N*1*10*10 flat, NCHW; labels)
  logits_step0     the training-mode forward of batch 0 at the initial weights
  grads_step0      every parameter gradient of that step
  steps[k]         loss (before the update), parameters and buffers after update k
  eval_logits      evaluation-mode logits of batch 0 after the last step (running statistics)
"""

import json
import os
import sys
from collections import OrderedDict

try:
    import torch
    import torch.nn as nn
except ImportError:  # pragma: no cover
    sys.exit("make_torch_cnn_fixture.py needs PyTorch: run it with /usr/bin/python3 (Debian's python3-torch)")

GENERATOR = "/usr/bin/python3 tools/make_torch_cnn_fixture.py"
SEED = 2024
K, B = 5, 8
LR, MOMENTUM, WEIGHT_DECAY = 0.05, 0.9, 5e-4
ARCH = "conv:4x3p1,bn,relu,pool:2,conv:6x3,bn,relu,avgpool:1,flatten,dense:10"


def tensor_json(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def state(model):
    return {k: tensor_json(v) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    model = nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 4, 3, padding=1)), ("bn1", nn.BatchNorm2d(4)), ("relu1", nn.ReLU()),
        ("maxpool1", nn.MaxPool2d(2)),
        ("conv2", nn.Conv2d(4, 6, 3)), ("bn2", nn.BatchNorm2d(6)), ("relu2", nn.ReLU()),
        ("avgpool1", nn.AvgPool2d(1)), ("flatten1", nn.Flatten()), ("dense1", nn.Linear(54, 10)),
    ]))
    # Non-trivial BN affine parameters, so their gradients and decay are exercised.
    with torch.no_grad():
        for bn in (model.bn1, model.bn2):
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
    init = state(model)
    batches = [(torch.randn(B, 1, 10, 10), torch.randint(0, 10, (B,))) for _ in range(K)]
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    steps, logits0, grads0 = [], None, None
    for k, (x, y) in enumerate(batches):
        opt.zero_grad()
        logits = model(x)
        loss = loss_fn(logits, y)
        loss.backward()
        if k == 0:
            logits0 = tensor_json(logits)
            grads0 = {n: tensor_json(p.grad) for n, p in model.named_parameters()}
        opt.step()
        steps.append({"loss": float(loss.item()), "state": state(model)})
    model.eval()
    with torch.no_grad():
        eval_logits = tensor_json(model(batches[0][0]))
    out = {
        "generator": GENERATOR,
        "torch_version": torch.__version__.split("+")[0],
        "arch": ARCH,
        "input_shape": [1, 10, 10],
        "classes": 10,
        "optimizer": {"name": "SGD", "lr": LR, "momentum": MOMENTUM, "weight_decay": WEIGHT_DECAY},
        "params_init": init,
        "batches": [{"x": tensor_json(x)["data"], "y": [int(v) for v in y.tolist()]} for x, y in batches],
        "logits_step0": logits0,
        "grads_step0": grads0,
        "steps": steps,
        "eval_logits": eval_logits,
    }
    path = os.path.join("test", "fixtures", "torch-cnn", "cnn_bn.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print(f"wrote {path}: {K} steps of B={B}, torch {out['torch_version']}")


if __name__ == "__main__":
    main()
