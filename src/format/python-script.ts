/**
 * The parts every re-emitted training script shares (`export --run DIR --to pytorch|sklearn|keras`):
 * Python literals, the IDX and safetensors readers, ridgeline's learning-rate schedule as a
 * Python expression, the data loading in ridgeline's row order, and the closing report, so the
 * scripts read the same files the same way and print their result in one format. Pure strings.
 */
import type { ScheduleSpec } from '../optim/schedule.js';
import type { TrainConfig } from '../train/trainer.js';

/** A number or string as a Python literal (JavaScript's shortest round-trip form is valid Python). */
export const py = (v: number): string => `${v}`;
export const pyString = (s: string): string => JSON.stringify(s);

/** What a script needs from the run directory and the export (src/node/export-run.ts). */
export interface ScriptInput {
  config: TrainConfig;
  /** The IDX directory of the training and test images. */
  dataDir: string;
  /** The run's initial weights (safetensors) and the row order file (int32: epochs × N rows of the training file). */
  initPath: string;
  rowsPath: string;
  /** Training rows per epoch (N), and how many optimizer steps to run (the run's, or fewer). */
  trainRows: number;
  steps: number;
  /** Where the script writes its final weights (safetensors, ridgeline's names and layouts). */
  outWeights: string;
  /** Lines of the conversion note at the top (coefficients in both conventions, caveats). */
  notes: string[];
}

/** `# line` per line. */
export const comment = (lines: readonly string[]): string => lines.map((l) => (l ? `# ${l}` : '#')).join('\n');

/** ridgeline's schedule as a Python expression of the update count t (optim/schedule.ts). */
export function schedulePython(s: ScheduleSpec): string {
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

/** `def lr_at(t)`: ridgeline's learning rate at update t. */
export function lrFunction(s: ScheduleSpec): string {
  return `def lr_at(t):
    """ridgeline's learning rate at update t (its schedule, src/optim/schedule.ts)."""
    return ${schedulePython(s)}`;
}

/** The constants every script starts with. */
export function scriptConstants(input: ScriptInput, lr: number): string {
  return `DATA = ${pyString(input.dataDir)}
INIT = ${pyString(input.initPath)}
ROWS = ${pyString(input.rowsPath)}
OUT_WEIGHTS = ${pyString(input.outWeights)}
LR = ${py(lr)}
BATCH = ${input.config.batchSize}
STEPS = ${input.steps}
N = ${input.trainRows}`;
}

/** IDX and safetensors reading and writing, in plain numpy. */
export const PYTHON_FILES = `def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\\x1f\\x8b":
        raw = gzip.decompress(raw)
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def read_images(name):
    """Pixels scaled to [0, 1] in float32, as ridgeline reads them (src/data/idx.ts)."""
    return read_idx(DATA + "/" + name).astype(np.float32) / 255.0


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
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))`;

/** The training and test data, and the training rows in ridgeline's order (one row of \`rows\` per epoch), batch by batch. */
export const PYTHON_DATA = `images = read_images("train-images-idx3-ubyte.gz")
labels = read_idx(DATA + "/train-labels-idx1-ubyte.gz").astype(np.int64)
test_x = read_images("t10k-images-idx3-ubyte.gz")
test_y = read_idx(DATA + "/t10k-labels-idx1-ubyte.gz").astype(np.int64)
rows = np.fromfile(ROWS, dtype="<i4").reshape(-1, N)


def batches():
    """(update t, the training rows of its batch), in ridgeline's order: B rows at a time, each epoch's last batch short when B does not divide N."""
    t = 0
    for epoch_rows in rows:
        for s in range(0, N, BATCH):
            if t >= STEPS:
                return
            yield t, epoch_rows[s:s + BATCH]
            t += 1

`;

/**
 * `report(final, pred, test_y, steps)`: writes the final weights (ridgeline's names) to
 * OUT_WEIGHTS and prints one line, the same from every script: the checksum (the sum of |w|
 * over every tensor, in float64) and the test accuracy.
 */
export const PYTHON_REPORT = `def report(final, pred, test_y, steps):
    write_safetensors(OUT_WEIGHTS, final)
    checksum = sum(float(np.abs(np.asarray(v, dtype=np.float64)).sum()) for v in final.values())
    print(f"weights checksum {checksum:.6e}, test accuracy {100 * float((pred == test_y).mean()):.2f}% ({len(test_y)} images), {steps} steps")`;

/** The header comment every script opens with: what emitted it, how to run it, its notes. */
export function scriptHeader(what: string, run: string, input: ScriptInput, extra: readonly string[] = []): string {
  return `#!/usr/bin/env python3
${comment([
    `Generated by \`ridgeline export --to ${what}\`: the same training as the ridgeline run, in ${run}.`,
    ...extra,
    '',
    ...input.notes,
    '',
    "It prints the final weights' checksum (the sum of |w| over every tensor) and the test accuracy",
    "in one format for every exported framework, and writes the final weights, with ridgeline's",
    'names and layouts, to OUT_WEIGHTS.',
  ])}`;
}
