#!/usr/bin/python3
"""Generate the fixture for loading a plain PyTorch state_dict into ridgeline.

Run from the repository root with Debian's Python (the one that has torch):

    /usr/bin/python3 tools/make_torch_state_dict_fixture.py

It builds a CNN as a plain nn.Sequential (so its state_dict names are torch's own: 0.weight,
1.running_mean, ...), in ridgeline's --arch:

    conv:6x3p1,bn,relu,pool:2,conv:8x3s2p1,bn,relu,gap,dense:10     (input 1x28x28)

puts its BatchNorm layers in a trained state (running statistics from a few training-mode
passes), and writes to test/fixtures/torch-state/:

  cnn.f32.safetensors    the state_dict (float32; num_batches_tracked as int64, as torch has it)
  cnn.f16.safetensors    the same in float16, and cnn.bf16.safetensors in bfloat16
  cnn.json               the inputs (8 images) and the eval-mode logits of the float32 model

safetensors is written by hand (8-byte little-endian header length, JSON header, raw bytes), so
the Python safetensors package is not needed.
"""
import json
import struct
import sys

try:
    import torch
    import torch.nn as nn
except ImportError:  # pragma: no cover
    sys.exit("make_torch_state_dict_fixture.py needs PyTorch: run it with /usr/bin/python3 (Debian's python3-torch)")

OUT = "test/fixtures/torch-state"
ARCH = "conv:6x3p1,bn,relu,pool:2,conv:8x3s2p1,bn,relu,gap,dense:10"
DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def write_safetensors(path, state):
    header, blobs, offset = {}, [], 0
    for name, t in state.items():
        t = t.detach().contiguous()
        data = t.view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    torch.manual_seed(7)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10),
    )
    model.train()
    with torch.no_grad():
        for _ in range(5):
            model(torch.rand(16, 1, 28, 28))
    model.eval()
    x = torch.rand(8, 1, 28, 28)
    with torch.no_grad():
        logits = model(x)
    state = model.state_dict()
    write_safetensors(f"{OUT}/cnn.f32.safetensors", state)
    for dtype, tag in ((torch.float16, "f16"), (torch.bfloat16, "bf16")):
        write_safetensors(f"{OUT}/cnn.{tag}.safetensors", {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in state.items()})
    with open(f"{OUT}/cnn.json", "w") as f:
        json.dump({"arch": ARCH, "generator": "/usr/bin/python3 tools/make_torch_state_dict_fixture.py", "torch": torch.__version__,
                   "x": [float(v) for v in x.reshape(-1).tolist()], "logits": [float(v) for v in logits.reshape(-1).tolist()]}, f)
    print(f"wrote {OUT}/cnn.{{f32,f16,bf16}}.safetensors and cnn.json")


if __name__ == "__main__":
    main()
