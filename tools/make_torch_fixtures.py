#!/usr/bin/python3
"""Generate PyTorch parity fixtures for ridgeline's TypeScript tests.

Run from the repository root with Debian's Python (the one that has torch):

    /usr/bin/python3 tools/make_torch_fixtures.py

It writes one JSON file per case into test/fixtures/torch/ (``<case>.json``)
plus ``forward_activations.json``.  The TypeScript tests only read these files;
they never need Python.

Every optimizer case trains the same float32 MLP

    Sequential(Linear(12, 8), ReLU(), Linear(8, 6), ReLU(), Linear(6, 4))

with CrossEntropyLoss (mean over the batch) on the same k = 6 batches of
5 examples, from the same initial weights (all derived from SEED).  Each step
is ``zero_grad; forward; loss; backward; opt.step(); [sched.step()]`` and the
fixture records the loss (computed before the update), the learning rate that
the update used, and every parameter after the update.  Gradients of the first
step (before the update) are recorded as ``grads_step0``.

Numbers are written as ``float(v)`` of float32 values, i.e. the exact float32
value as a double, so ``Math.fround(x) === x`` for every parameter/loss value.
Learning rates are Python doubles (that is what torch keeps in param_groups).

Note: torch.optim's ``weight_decay`` applies to every parameter it is given,
biases included; the fixtures record that as ``"decayed": "all"``.
"""

import argparse
import json
import math
import os
import sys

from fixture_json import dumps, write_fixtures

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - environment guard
    sys.exit(
        "make_torch_fixtures.py needs PyTorch; run it with /usr/bin/python3 "
        "(Debian's python3-torch), not the python3 first on PATH."
    )

GENERATOR = "/usr/bin/python3 tools/make_torch_fixtures.py"

# One seed for the whole optimizer family: model init, then the batches are
# drawn from the same (global) stream right after the model is built.
SEED = 1234
# Separate seed for forward_activations.json.
FORWARD_SEED = 4321

SIZES = [12, 8, 6, 4]
NUM_BATCHES = 6
BATCH_SIZE = 5

# PyTorch Sequential index -> ridgeline layer name.
LAYER_NAMES = {"0": "dense1", "2": "dense2", "4": "dense3"}

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "test", "fixtures", "torch")


def sgd_kwargs(lr, momentum=0, dampening=0, weight_decay=0, nesterov=False):
    return {
        "lr": lr,
        "momentum": momentum,
        "dampening": dampening,
        "weight_decay": weight_decay,
        "nesterov": nesterov,
    }


def adam_kwargs(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
    return {
        "lr": lr,
        "betas": list(betas),
        "eps": eps,
        "weight_decay": weight_decay,
        "amsgrad": False,
    }


# case id -> (optimizer class name, full kwargs, scheduler or None)
# kwargs are spelled out in full (defaults included) so the fixture says
# exactly what torch used.
CASES = [
    ("sgd", "SGD", sgd_kwargs(0.1), None),
    ("sgd_wd", "SGD", sgd_kwargs(0.1, weight_decay=0.01), None),
    ("momentum", "SGD", sgd_kwargs(0.05, momentum=0.9), None),
    ("momentum_wd", "SGD", sgd_kwargs(0.05, momentum=0.9, weight_decay=0.01), None),
    (
        "momentum_dampening_wd",
        "SGD",
        sgd_kwargs(0.05, momentum=0.9, dampening=0.5, weight_decay=0.01),
        None,
    ),
    ("nesterov", "SGD", sgd_kwargs(0.05, momentum=0.9, nesterov=True), None),
    (
        "nesterov_wd",
        "SGD",
        sgd_kwargs(0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
        None,
    ),
    ("adam_wd", "Adam", adam_kwargs(0.01, weight_decay=0.01), None),
    ("adam", "Adam", adam_kwargs(0.01), None),
    ("adamw", "AdamW", adam_kwargs(0.01, weight_decay=0.1), None),
    (
        "adamw_cosine",
        "AdamW",
        adam_kwargs(0.01, weight_decay=0.1),
        ("CosineAnnealingLR", {"T_max": 6, "eta_min": 0.001}),
    ),
    (
        "sgd_wd_step",
        "SGD",
        sgd_kwargs(0.1, momentum=0.9, weight_decay=0.005),
        ("StepLR", {"step_size": 2, "gamma": 0.5}),
    ),
]


def setup_determinism():
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set / parallel work already started
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)


def tensor_entry(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def ridgeline_name(torch_name):
    idx, kind = torch_name.split(".")
    return "%s.%s" % (LAYER_NAMES[idx], kind)


def params_entry(model, use_grad=False):
    out = {}
    for name, p in model.named_parameters():
        src = p.grad if use_grad else p
        out[ridgeline_name(name)] = tensor_entry(src)
    return out


def build_model():
    torch.manual_seed(SEED)
    layers = []
    for i in range(len(SIZES) - 1):
        layers.append(nn.Linear(SIZES[i], SIZES[i + 1]))
        if i < len(SIZES) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers).to(torch.float32)


def make_family():
    """Initial state dict and batches, shared by every optimizer case."""
    model = build_model()
    init_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    # Batches continue the same global stream that initialised the model.
    batches = []
    for _ in range(NUM_BATCHES):
        x = torch.randn(BATCH_SIZE, SIZES[0], dtype=torch.float32)
        y = torch.randint(0, SIZES[-1], (BATCH_SIZE,), dtype=torch.int64)
        batches.append((x, y))
    return init_state, batches


def make_optimizer(cls_name, kwargs, params):
    kw = dict(kwargs)
    if "betas" in kw:
        kw["betas"] = tuple(kw["betas"])
    cls = getattr(torch.optim, cls_name)
    # foreach=False: the plain per-tensor implementation (the CPU default anyway).
    return cls(params, foreach=False, **kw)


def make_scheduler(spec, opt):
    if spec is None:
        return None
    cls_name, kw = spec
    return getattr(torch.optim.lr_scheduler, cls_name)(opt, **kw)


def run_case(case, cls_name, kwargs, sched_spec, init_state, batches):
    model = build_model()
    # Same seed -> same init; check it, then load the shared copy anyway.
    for k, v in model.state_dict().items():
        assert torch.equal(v, init_state[k]), "init mismatch for %s" % k
    model.load_state_dict(init_state)

    opt = make_optimizer(cls_name, kwargs, model.parameters())
    sched = make_scheduler(sched_spec, opt)
    ce = nn.CrossEntropyLoss()  # reduction='mean'

    steps = []
    grads_step0 = None
    for i, (x, y) in enumerate(batches):
        lr = float(opt.param_groups[0]["lr"])
        opt.zero_grad()
        out = model(x)
        loss = ce(out, y)
        loss.backward()
        if i == 0:
            grads_step0 = params_entry(model, use_grad=True)
        opt.step()
        if sched is not None:
            sched.step()
        steps.append({"lr": lr, "loss": float(loss.item()), "params": params_entry(model)})

    fixture = {
        "generator": GENERATOR,
        "torch_version": torch.__version__,
        "case": case,
        "optimizer": {"class": cls_name, "kwargs": kwargs},
        "scheduler": None
        if sched_spec is None
        else {"class": sched_spec[0], "kwargs": sched_spec[1], "stepped": "per optimizer step"},
        "decayed": "all",
        "model": {"sizes": SIZES, "activation": "relu"},
        "loss": "CrossEntropyLoss(mean)",
        "seed": SEED,
        "params_init": {ridgeline_name(k): tensor_entry(v) for k, v in init_state.items()},
        "batches": [
            {"x": [float(v) for v in x.reshape(-1).tolist()], "y": [int(v) for v in y.tolist()]}
            for x, y in batches
        ],
        "grads_step0": grads_step0,
        "steps": steps,
    }
    return fixture


def make_forward_activations():
    g = torch.Generator().manual_seed(FORWARD_SEED)
    x = (torch.randn(4, 7, generator=g, dtype=torch.float32) * 2).detach()
    y = torch.randint(0, 7, (4,), generator=g, dtype=torch.int64)

    xg = x.clone().requires_grad_(True)
    ce = F.cross_entropy(xg, y)  # reduction='mean'
    ce.backward()

    return {
        "generator": GENERATOR,
        "torch_version": torch.__version__,
        "case": "forward_activations",
        "seed": FORWARD_SEED,
        "x": tensor_entry(x),
        "y": [int(v) for v in y.tolist()],
        "relu": tensor_entry(torch.relu(x)),
        "tanh": tensor_entry(torch.tanh(x)),
        "gelu": dict(tensor_entry(F.gelu(x)), approximate="none"),
        "log_softmax": dict(tensor_entry(F.log_softmax(x, dim=1)), dim=1),
        "cross_entropy": {"reduction": "mean", "value": float(ce.item())},
        "cross_entropy_grad_x": tensor_entry(xg.grad),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    ap.add_argument(
        "--check",
        action="store_true",
        help="regenerate in memory and fail if any file on disk differs",
    )
    args = ap.parse_args()

    setup_determinism()
    init_state, batches = make_family()

    outputs = {}
    for case, cls_name, kwargs, sched_spec in CASES:
        outputs[case + ".json"] = run_case(case, cls_name, kwargs, sched_spec, init_state, batches)
    outputs["forward_activations.json"] = make_forward_activations()

    write_fixtures(outputs, args.out, args.check, REPO_ROOT)

if __name__ == "__main__":
    main()
