#!/usr/bin/python3
"""PyTorch side of `npm run bench`: the same model, optimizer, penalty and batches as ridgeline.

Run by bench/systems.ts as `/usr/bin/python3 bench/torch_step.py --data DIR --threads N
[--workload mlp|cnn] [--warmup N --seconds S --repetitions R | --quick] [--check-steps K]
[--width W --batch B]` (Debian's python3-torch; the python3 first on PATH may lack torch), in
each environment of bench/peers.ts. `--check-steps K`: after the timed steps, K steps afresh
from the same initial weights, whose loss peers.ts compares across configurations
(`--repetitions 0`: only that). `--width`/`--batch`: the sweep's MLP width and batch size.
The report names the OpenBLAS kernels that ran (openblas_get_corename) and ATen's vector ISA. DIR holds x.bin (float32 LE), y.bin
(int32 LE) and meta.json written by run.ts, and for the CNN cnn-spec.json: ridgeline's parsed
`--arch` spec of bench/common.ts CNN_ARCH with its parameter count. Prints one JSON object on
the last line of stdout (nothing else is printed there).

Workload mlp: Linear(784,256)-ReLU-Linear(256,256)-ReLU-Linear(256,10).
Workload cnn: the spec's layers (CNN_ARCH in bench/common.ts) as torch.nn modules
(build_from_spec), NCHW [B,1,28,28], e.g. Conv2d(1,32,3,padding=1)-BatchNorm2d(32)-ReLU-
MaxPool2d(2)-...-Flatten-Linear(...)-ReLU-Linear(...,10); the script checks its parameter
count against ridgeline's.
Both: F.cross_entropy (mean), SGD(lr=0.05, momentum=0.9) with weight_decay=2e-4 on a param
group of the Conv2d and Linear weights only (biases and BN gamma/beta 0): the gradient of
lambda_E * sum(w^2) with lambda_E = 1e-4 is 2e-4 * w, so this is ridgeline's
`seed:lambda=1e-4` and TF.js's l2(1e-4) on the kernels.

Threads: the spawner sets OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS to N before
the interpreter starts (Debian's torch calls the system BLAS, whose own thread pool
torch.set_num_threads does not control), and the script also calls torch.set_num_threads(N).
"""
import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time

# Defaults when run by hand; run.ts passes --warmup/--seconds/--repetitions (common.ts timingFor).
TIMING = {
    "full": {"warmup_steps": 15, "seconds": 2.5, "repetitions": 3},
    "quick": {"warmup_steps": 3, "seconds": 0.2, "repetitions": 3},
}


def rusage_max_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def peak_rss_mb():
    """VmHWM of this process (getrusage's maxrss carries the spawning parent's RSS across fork+exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return rusage_max_rss_mb()


def loaded_blas():
    """Shared libraries in this process whose name says BLAS (what GEMMs actually call)."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                name = os.path.basename(path)
                if "blas" in name.lower() or "mkl" in name.lower():
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(libs)


def openblas_core(libs):
    """The kernel set OpenBLAS runs (what OPENBLAS_VERBOSE=2 prints as 'Core: ...'), asked of
    the loaded library itself, with its build line; None where no loaded library is OpenBLAS."""
    import ctypes
    for path in libs:
        try:
            lib = ctypes.CDLL(path)  # already loaded: the same handle, no second copy
            corename, config = lib.openblas_get_corename, lib.openblas_get_config
        except (OSError, AttributeError):
            continue
        corename.restype = config.restype = ctypes.c_char_p
        return {"core": corename().decode(), "config": config().decode()}
    return None


def aten_cpu_capability(torch):
    """The vector ISA of ATen's own kernels ('CPU capability usage: AVX2' in torch's build config)."""
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage:" in line:
            return line.split(":", 1)[1].strip()
    return None


def rebatch(x, y, batch):
    """The rows cut into whole batches of `batch` (bench/common.ts rebatch does the same)."""
    rows = x.shape[0] * x.shape[1]
    n = rows // batch
    if n < 1:
        raise ValueError(f"cannot cut {rows} rows into batches of {batch}")
    return x.reshape(rows, -1)[: n * batch].reshape(n, batch, -1), y.reshape(rows)[: n * batch].reshape(n, batch)


def build_from_spec(torch, spec):
    """torch.nn.Sequential for a ridgeline ModelSpec (the subset the bench's CNN uses)."""
    nn = torch.nn
    shape = list(spec.get("inputShape") or [spec["inputSize"]])
    mods = []
    for l in spec["layers"]:
        t = l["type"]
        if t == "conv2d":
            k, s, p = l["kernel"], l.get("stride", 1), l.get("padding", 0)
            mods.append(nn.Conv2d(shape[0], l["filters"], k, stride=s, padding=p))
            shape = [l["filters"], (shape[1] + 2 * p - k) // s + 1, (shape[2] + 2 * p - k) // s + 1]
        elif t == "batchnorm":
            kw = {"momentum": l.get("momentum", 0.1), "eps": l.get("eps", 1e-5)}
            mods.append(nn.BatchNorm2d(shape[0], **kw) if len(shape) == 3 else nn.BatchNorm1d(shape[0], **kw))
        elif t == "relu":
            mods.append(nn.ReLU())
        elif t == "maxpool2d":
            k = l["size"]
            s = l.get("stride", k)
            mods.append(nn.MaxPool2d(k, stride=s))
            shape = [shape[0], (shape[1] - k) // s + 1, (shape[2] - k) // s + 1]
        elif t in ("flatten", "dense"):
            if len(shape) > 1:  # ridgeline's dense flattens a C x H x W input itself
                mods.append(nn.Flatten())
                n = 1
                for d in shape:
                    n *= d
                shape = [n]
            if t == "dense":
                mods.append(nn.Linear(shape[0], l["units"]))
                shape = [l["units"]]
        else:
            raise ValueError(f"the PyTorch bench builder has no mapping for layer type {t!r}")
    return nn.Sequential(*mods)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workload", choices=["mlp", "cnn"], default="mlp")
    ap.add_argument("--warmup", type=int)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--repetitions", type=int)
    ap.add_argument("--name", help="system name to report (default pytorch-<threads>t)")
    ap.add_argument("--width", type=int, help="the MLP's hidden width (the sweep; default 256)")
    ap.add_argument("--batch", type=int, help="batch size (the sweep): the rows cut into batches of this size")
    ap.add_argument("--check-steps", type=int, default=0,
                    help="after the timed steps, train this many steps afresh from the seed and report the loss "
                         "(run.ts compares it across configurations); with --repetitions 0 only this runs")
    args = ap.parse_args()
    name = args.name or f"pytorch-{args.threads}t"

    try:
        import numpy as np
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        print(json.dumps({"name": name, "workload": args.workload, "backend": "cpu", "threads": args.threads, "samples_per_s": None,
                          "skipped": f"{sys.executable} cannot import torch/numpy: {e}"}))
        return

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    timing = dict(TIMING["quick" if args.quick else "full"])
    for key, value in (("warmup_steps", args.warmup), ("seconds", args.seconds), ("repetitions", args.repetitions)):
        if value is not None:
            timing[key] = value

    with open(os.path.join(args.data, "meta.json")) as f:
        meta = json.load(f)
    nb, B, feat = meta["batches"], meta["batch"], meta["features"]
    x = np.fromfile(os.path.join(args.data, "x.bin"), dtype="<f4").reshape(nb, B, feat)
    y = np.fromfile(os.path.join(args.data, "y.bin"), dtype="<i4").reshape(nb, B).astype(np.int64)
    if args.batch is not None:
        x, y = rebatch(x, y, args.batch)
        nb, B = x.shape[0], x.shape[1]
    width = args.width or 256
    details = {}
    cnn = None
    if args.workload == "cnn":
        with open(os.path.join(args.data, "cnn-spec.json")) as f:
            cnn = json.load(f)
        x = x.reshape(nb, B, *cnn["spec"]["inputShape"])  # NCHW [B, 1, 28, 28]
    xs = [torch.from_numpy(np.ascontiguousarray(x[i])) for i in range(nb)]
    ys = [torch.from_numpy(np.ascontiguousarray(y[i])) for i in range(nb)]

    def setup():
        """The model and its optimizer from seed 0 (the same initial weights every time)."""
        torch.manual_seed(0)
        if cnn is not None:
            model = build_from_spec(torch, cnn["spec"])
            params = sum(p.numel() for p in model.parameters())
            if params != cnn["params"]:
                print(json.dumps({"error": f"the PyTorch CNN has {params} parameters, ridgeline's {cnn['arch']} has {cnn['params']}"}))
                sys.exit(1)
            details.update({"arch": cnn["arch"], "trainable_params": params, "modules": [repr(m) for m in model]})
        else:
            model = torch.nn.Sequential(
                torch.nn.Linear(feat, width), torch.nn.ReLU(),
                torch.nn.Linear(width, width), torch.nn.ReLU(),
                torch.nn.Linear(width, meta["classes"]),
            )
        # Decayed: the Conv2d and Linear weights (ridgeline's default selection: conv kernels and
        # dense weights); everything else (biases, BatchNorm gamma/beta) has weight_decay 0.
        weights = [m.weight for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
        decayed_ids = {id(w) for w in weights}
        others = [p for p in model.parameters() if id(p) not in decayed_ids]
        opt = torch.optim.SGD(
            [{"params": weights, "weight_decay": 2e-4}, {"params": others, "weight_decay": 0.0}],
            lr=0.05, momentum=0.9,
        )
        return model, weights, opt

    model, weights, opt = setup()
    last_loss = [float("nan")]

    def step(i):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xs[i % nb]), ys[i % nb])
        loss.backward()
        opt.step()
        last_loss[0] = loss.item()  # read back every step, as ridgeline and TF.js do

    def penalty():
        """lambda_E * sum(w^2) at the current weights (the systems report CE + this)."""
        with torch.no_grad():
            return 1e-4 * sum(float((w * w).sum()) for w in weights)

    i = 0
    reps = []
    cpu_utilization = None
    if timing["repetitions"] > 0:
        for _ in range(timing["warmup_steps"]):
            step(i)
            i += 1
        cpu0, wall0 = os.times(), time.perf_counter()
        for _ in range(timing["repetitions"]):
            t0 = time.perf_counter()
            steps = 0
            while True:
                step(i)
                i += 1
                steps += 1
                dt = time.perf_counter() - t0
                if dt >= timing["seconds"]:
                    break
            reps.append({"steps": steps, "seconds": dt, "samples_per_s": steps * B / dt})
        cpu1, wall1 = os.times(), time.perf_counter()
        cpu_utilization = ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / (wall1 - wall0)
    sps = statistics.median(r["samples_per_s"] for r in reps) if reps else None
    # Reported like the other systems: CE + lambda_E * sum(w^2), at the weights after the last step.
    timed_loss = last_loss[0] + penalty() if reps else None

    check = None
    if args.check_steps > 0:
        # A fixed number of steps from the same initial weights, in this process's BLAS and
        # thread configuration: run.ts compares the loss with the reference configuration's,
        # so a kernel set that computes wrong results is caught (the timed steps' count differs
        # between configurations, so their loss cannot be compared).
        model, weights, opt = setup()
        for j in range(args.check_steps):
            step(j)
        check = {"steps": args.check_steps, "loss": last_loss[0] + penalty()}

    blas_libs = loaded_blas()
    print(json.dumps({
        "name": name,
        "workload": args.workload,
        "backend": "cpu",
        "threads": torch.get_num_threads(),
        "samples_per_s": sps,
        "timing": {"samples_per_s": sps, "repetitions": reps, "warmup_steps": timing["warmup_steps"],
                   "cpu_utilization": cpu_utilization} if reps else None,
        "last_loss": timed_loss,
        "check": check,
        "peak_rss_mb": peak_rss_mb(),
        "rusage_max_rss_mb": rusage_max_rss_mb(),
        "versions": {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version()},
        "details": {
            **details,
            "python": sys.executable,
            "torch_num_threads": torch.get_num_threads(),
            "torch_num_interop_threads": torch.get_num_interop_threads(),
            "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY", "OPENBLAS_CORETYPE", "GLIBC_TUNABLES")},
            "blas_libraries": blas_libs,
            "openblas": openblas_core(blas_libs),
            "aten_cpu_capability": aten_cpu_capability(torch),
            "width": width if cnn is None else None,
            "batch": B,
            "mkldnn_available": torch.backends.mkldnn.is_available(),
            "last_loss_note": "CE of the last step + 1e-4*sum(w^2) at the weights after it",
        },
        "available_parallelism": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
