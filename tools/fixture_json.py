"""The JSON layout of the parity fixtures and their writer, shared by the fixture scripts.

Fixtures are JSON with nested objects indented and number arrays on one line; `--check`
regenerates them in memory and fails when a file on disk differs.
"""
import json
import math
import os
import sys


def _is_flat_scalars(v):
    return isinstance(v, list) and all(not isinstance(e, (list, dict)) for e in v)


def dumps(obj, indent=0):
    """JSON with nested objects indented but number arrays kept on one line."""
    pad = "  " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = ["%s  %s: %s" % (pad, json.dumps(k), dumps(v, indent + 1)) for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and not _is_flat_scalars(obj):
        items = ["%s  %s" % (pad, dumps(v, indent + 1)) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError("non-finite number in fixture")
    # json.dumps writes floats with repr(): shortest string that round-trips the double.
    return json.dumps(obj, allow_nan=False, separators=(",", ":"))


def write_fixtures(outputs, out_dir, check, repo_root, max_bytes=None):
    """Writes {file name: fixture} into out_dir, or with check=True fails listing the stale ones."""
    if not check:
        os.makedirs(out_dir, exist_ok=True)
    stale = []
    for fname, fixture in outputs.items():
        text = dumps(fixture) + "\n"
        # Round-trip guard: what we write must parse back to the same values.
        assert json.loads(text) == json.loads(json.dumps(fixture)), fname
        if max_bytes is not None:
            assert len(text) < max_bytes, (fname, len(text))
        path = os.path.join(out_dir, fname)
        if check:
            try:
                with open(path) as f:
                    if f.read() != text:
                        stale.append(fname)
            except FileNotFoundError:
                stale.append(fname)
        else:
            with open(path, "w") as f:
                f.write(text)
            print("wrote %s (%d bytes)" % (os.path.relpath(path, repo_root), len(text)))
    if check:
        if stale:
            sys.exit("out of date: " + ", ".join(stale))
        print("all %d fixtures up to date" % len(outputs))
