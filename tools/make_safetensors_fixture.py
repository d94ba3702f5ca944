#!/usr/bin/python3
"""Independent safetensors writer/reader, to cross-check src/format/safetensors.ts.

Generated test/fixtures/safetensors/python-made.safetensors with, from the repo root:

    /usr/bin/python3 tools/make_safetensors_fixture.py

(Debian's Python 3.11 with numpy 1.24; the `safetensors` package was not installed, so the file
is written by hand from the spec with struct + json + numpy. If `safetensors` is importable the
script uses `safetensors.numpy.save_file` instead, so either way the bytes don't come from our
TypeScript code.)

Interop the other way, used manually: write a file with encodeSafetensors and run

    /usr/bin/python3 tools/make_safetensors_fixture.py --check path/to/file.safetensors

which parses it here, independently, and prints every tensor and the metadata.

No torch check: torch 1.13 has no safetensors loader.
"""

import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "safetensors", "python-made.safetensors")

TENSORS = {
    "weight": np.array([[0.5, -1.25, 3], [4, 5.5, 6]], dtype="<f4"),
    # 0.1 etc. are not exact in float32: checks both sides round the same way.
    "bias": np.array([0.1, -0.2, 0.3], dtype="<f4"),
    "counts": np.array([1, 2, 3, 4], dtype="<i4"),
}
METADATA = {"format": "pt", "note": "made by tools/make_safetensors_fixture.py"}

DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
          "I8": "i1", "U8": "u1", "BOOL": "?"}
NP_TO_ST = {np.dtype(v): k for k, v in DTYPES.items()}


def write_by_hand(path, tensors, metadata):
    # Layout close to the reference Rust writer's: larger dtypes first, then by name (keeps every
    # tensor aligned); compact JSON with __metadata__ first; header padded with spaces so the
    # data section starts at a multiple of 8.
    order = sorted(tensors, key=lambda n: (-tensors[n].dtype.itemsize, n))
    header = {"__metadata__": metadata}
    offset = 0
    for name in order:
        t = tensors[name]
        header[name] = {"dtype": NP_TO_ST[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + t.nbytes]}
        offset += t.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for name in order:
            f.write(tensors[name].tobytes(order="C"))


def make():
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    try:
        from safetensors.numpy import save_file
    except ImportError:
        write_by_hand(OUT, TENSORS, METADATA)
        how = "by hand (safetensors package not installed)"
    else:
        save_file(TENSORS, OUT, metadata=METADATA)
        how = "with safetensors.numpy.save_file"
    print(f"wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes) {how}")


def check(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    assert (8 + n) % 8 == 0, f"header not padded: 8 + {n} is not a multiple of 8"
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    metadata = header.pop("__metadata__", {})
    covered = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        begin, end = info["data_offsets"]
        assert begin == covered, f"{name}: expected to start at {covered}, starts at {begin}"
        covered = end
        arr = np.frombuffer(data[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        print(f"{name}: {info['dtype']} shape={info['shape']}")
        print(np.array2string(arr, precision=9, separator=", ", threshold=50))
    assert covered == len(data), f"data section has {len(data) - covered} trailing bytes"
    print(f"__metadata__: {json.dumps(metadata)}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    elif len(sys.argv) == 1:
        make()
    else:
        sys.exit("usage: make_safetensors_fixture.py [--check FILE]")
