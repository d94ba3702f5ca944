/**
 * What every benchmark process shares: the workloads (an MLP and the README's CNN, one
 * optimizer, one penalty, one batch size), the batch file the orchestrator writes and every
 * worker (Node or Python) reads, and the timing loop. Kept free of framework imports so each
 * worker loads only its own system; the one ridgeline module here is the `--arch` parser
 * (src/nn/spec.ts: pure shape arithmetic, no kernels), so the CNN has one definition.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { layerShapes, mlpSpec, paramShapes, parseArch, type ModelSpec } from '../src/nn/spec.js';

/** The repository root (bench/ → ..). */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The workload, identical for every system:
 *  - MLP 784-256-256-10, ReLU, logits into softmax cross-entropy (mean over the batch);
 *  - E = mean CE + λ_E·Σ_weights w² with λ_E = 1e-4 (biases not decayed): ridgeline
 *    `seed:lambda=1e-4`, TF.js `tf.regularizers.l2({l2: 1e-4})` on the kernels, PyTorch SGD
 *    `weight_decay = 2·λ_E = 2e-4` on a param group holding only the weights;
 *  - SGD with heavy-ball momentum 0.9 (PyTorch's form, dampening 0), constant lr 0.05;
 *  - batch 128, cycling through BATCHES pre-loaded batches of real images.
 */
export const WORKLOAD = {
  sizes: [784, 256, 256, 10] as const,
  batch: 128,
  batches: 50,
  lr: 0.05,
  momentum: 0.9,
  lambdaE: 1e-4,
} as const;

/**
 * The MLP of WORKLOAD with both hidden layers `width` wide (the sweep varies it; 256 is the
 * bench's MLP). Every system builds its MLP from these sizes.
 */
export const mlpSizes = (width: number = WORKLOAD.sizes[1]): [number, number, number, number] =>
  [WORKLOAD.sizes[0], width, width, WORKLOAD.sizes[3]];

export const mlpModel = (width?: number): ModelSpec => {
  const [inputs, h1, h2, classes] = mlpSizes(width);
  return mlpSpec(inputs, [h1, h2], classes, 'relu');
};

/** The workloads `--workload` chooses between; `mlp` is WORKLOAD above, `cnn` is CNN_WORKLOAD. */
export const WORKLOAD_NAMES = ['mlp', 'cnn'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

/**
 * The README's CNN recipe model (the 93.39% row of its CNN table), without its dropout, in
 * ridgeline's `--arch` syntax over NCHW 1×28×28 images.
 * Every system builds the CNN from this one string: ridgeline through parseArch, TF.js from
 * the parsed spec (bench/worker.ts tfjsLayers), PyTorch from the parsed spec that run.ts writes
 * next to the batches (bench/torch_step.py build_from_spec); each checks its trainable
 * parameter count against CNN_PARAMS.
 */
export const CNN_ARCH = 'conv:32x3p1,bn,relu,pool:2,conv:64x3p1,bn,relu,pool:2,conv:128x3p1,bn,relu,pool:2,flatten,dense:256,relu,dense:10';

/**
 * The CNN workload: CNN_ARCH on 1×28×28 images (the MLP's batches, each row read as one
 * channel of 28×28), 10 classes; the same loss, penalty (λ_E on conv kernels and dense
 * weights, ridgeline's default decay selection; not on biases or BN γ/β), optimizer, lr and
 * batch as WORKLOAD.
 */
export const CNN_WORKLOAD = {
  arch: CNN_ARCH,
  inputShape: [1, 28, 28] as readonly [number, number, number],
  classes: 10,
  batch: WORKLOAD.batch,
  lr: WORKLOAD.lr,
  momentum: WORKLOAD.momentum,
  lambdaE: WORKLOAD.lambdaE,
} as const;

export const cnnSpec = (): ModelSpec => parseArch(CNN_ARCH, CNN_WORKLOAD.inputShape, CNN_WORKLOAD.classes);

/**
 * Trainable parameters of CNN_ARCH as ridgeline counts them (weights, biases, BN γ and β;
 * not BN's running statistics): 390,858 = 390,410 in the conv and dense layers + 448 BN γ/β.
 */
export const CNN_PARAMS = paramShapes(cnnSpec()).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);

/**
 * Multiply-accumulates of one example's forward pass in the conv and dense layers (BN, ReLU,
 * pooling and the loss are elementwise and not counted).
 */
export function forwardMacs(spec: ModelSpec): number {
  const shapes = layerShapes(spec);
  let macs = 0;
  spec.layers.forEach((l, i) => {
    const inSize = shapes[i].reduce((a, b) => a * b, 1), out = shapes[i + 1];
    if (l.type === 'dense') macs += inSize * l.units;
    else if (l.type === 'conv2d') macs += out[0] * out[1] * out[2] * shapes[i][0] * l.kernel * l.kernel;
  });
  return macs;
}

/**
 * FLOPs of one example's training step, the usual estimate: forward 2·MACs, backward twice
 * the forward (input and weight gradients), so 3·2·MACs. It slightly overcounts: the first
 * layer computes no input gradient.
 */
export const trainFlopsPerSample = (spec: ModelSpec) => 3 * 2 * forwardMacs(spec);

export interface BatchMeta {
  batches: number;
  batch: number;
  features: number;
  classes: number;
  /** Where the images came from (the Fashion-MNIST directory). */
  source: string;
}

export interface Batches {
  meta: BatchMeta;
  /** batches·batch·features float32, batch after batch. */
  x: Float32Array;
  /** batches·batch int32 labels. */
  y: Int32Array;
}

/** x.bin (float32 LE), y.bin (int32 LE), meta.json: read by the Node workers and torch_step.py. */
export function writeBatches(dir: string, b: Batches): void {
  writeFileSync(join(dir, 'x.bin'), new Uint8Array(b.x.buffer, b.x.byteOffset, b.x.byteLength));
  writeFileSync(join(dir, 'y.bin'), new Uint8Array(b.y.buffer, b.y.byteOffset, b.y.byteLength));
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(b.meta));
}

/**
 * The same rows cut into batches of `batch` (the sweep's batch sizes): as many whole batches as
 * the rows fill. Both workers do this the same way (torch_step.py `rebatch`).
 */
export function rebatch(b: Batches, batch: number): Batches {
  const rows = b.meta.batches * b.meta.batch;
  const batches = Math.floor(rows / batch);
  if (!Number.isInteger(batch) || batch < 1 || batches < 1) throw new Error(`cannot cut ${rows} rows into batches of ${batch}`);
  return { meta: { ...b.meta, batch, batches }, x: b.x.subarray(0, batches * batch * b.meta.features), y: b.y.subarray(0, batches * batch) };
}

export function readBatches(dir: string): Batches {
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as BatchMeta;
  // Copy into fresh (aligned) buffers: a Buffer may sit at any offset of a shared pool.
  const x = new Float32Array(new Uint8Array(readFileSync(join(dir, 'x.bin'))).buffer);
  const y = new Int32Array(new Uint8Array(readFileSync(join(dir, 'y.bin'))).buffer);
  if (x.length !== meta.batches * meta.batch * meta.features || y.length !== meta.batches * meta.batch) {
    throw new Error(`${dir}: batch files do not match meta.json`);
  }
  return { meta, x, y };
}

export interface TimingOptions {
  /** Untimed steps first (JIT, caches, lazily allocated buffers, BLAS thread pools). */
  warmupSteps: number;
  /** Each repetition runs whole steps until at least this long has passed. */
  seconds: number;
  repetitions: number;
}

export const TIMING: Record<'full' | 'quick', TimingOptions> = {
  full: { warmupSteps: 15, seconds: 2.5, repetitions: 3 },
  quick: { warmupSteps: 3, seconds: 0.2, repetitions: 3 },
};

/**
 * How long a system takes per CNN step decides its timing: `normal`, or `slow` for
 * ridgeline-js (TypeScript conv loops, seconds per step), or `slowest` for tfjs-cpu (its
 * conv gradients are plain JavaScript loops too, but minutes per step on this machine).
 */
export type CnnPace = 'normal' | 'slow' | 'slowest';

/**
 * The CNN step costs ~29× the MLP's FLOPs (46.5 vs 1.6 MFLOP per example). `normal`: five
 * warm-up steps, three repetitions of ≥ 2.5 s. `slow`: two warm-up steps, three repetitions of
 * ≥ 5 s (often one step each). `slowest`: one warm-up step and a single timed step. `quick`
 * (the smoke test): one warm-up step and two repetitions; `quickSlowest`: one timed step, no
 * warm-up.
 */
export const CNN_TIMING: Record<CnnPace, TimingOptions> & { quick: TimingOptions; quickSlowest: TimingOptions } = {
  normal: { warmupSteps: 5, seconds: 2.5, repetitions: 3 },
  slow: { warmupSteps: 2, seconds: 5, repetitions: 3 },
  slowest: { warmupSteps: 1, seconds: 0, repetitions: 1 },
  quick: { warmupSteps: 1, seconds: 0.2, repetitions: 2 },
  quickSlowest: { warmupSteps: 0, seconds: 0, repetitions: 1 },
};

/** The timing a system gets for a workload (the pace only matters for the CNN). */
export function timingFor(workload: WorkloadName, quick: boolean, pace: CnnPace = 'normal'): TimingOptions {
  if (workload === 'mlp') return quick ? TIMING.quick : TIMING.full;
  if (quick) return pace === 'slowest' ? CNN_TIMING.quickSlowest : CNN_TIMING.quick;
  return CNN_TIMING[pace];
}

/**
 * One side of an interleaved pair (bench/pairs.ts): the system's own warm-up, then a single
 * repetition of at least PAIR_SECONDS (a single timed step for the slowest systems, as before).
 */
export const PAIR_SECONDS = 3;

export function pairTimingFor(workload: WorkloadName, quick: boolean, pace: CnnPace = 'normal'): TimingOptions {
  const t = timingFor(workload, quick, pace);
  return { ...t, repetitions: 1, seconds: quick || t.seconds === 0 ? t.seconds : Math.max(t.seconds, PAIR_SECONDS) };
}

/** As command-line flags for a worker (bench/worker.ts and bench/torch_step.py take the same three). */
export const timingArgs = (t: TimingOptions) => ['--warmup', String(t.warmupSteps), '--seconds', String(t.seconds), '--repetitions', String(t.repetitions)];

export interface Repetition {
  steps: number;
  seconds: number;
  samples_per_s: number;
}

export interface Timing {
  /** Median over the repetitions of steps·B/seconds. */
  samples_per_s: number;
  repetitions: Repetition[];
  warmup_steps: number;
  /**
   * CPU time of the whole process over wall time during the repetitions (≈ cores kept busy;
   * includes helper threads that spin while waiting).
   */
  cpu_utilization: number;
}

/** Times `step(i)` (i counts from 0 across warm-up and repetitions); awaits it only when it returns a promise. */
export async function timeSteps(step: (i: number) => void | Promise<void>, batch: number, o: TimingOptions): Promise<Timing> {
  let i = 0;
  for (; i < o.warmupSteps; i++) {
    const r = step(i);
    if (r) await r;
  }
  const repetitions: Repetition[] = [];
  const cpu0 = process.cpuUsage(), wall0 = performance.now();
  for (let rep = 0; rep < o.repetitions; rep++) {
    const t0 = performance.now();
    let steps = 0, elapsed = 0;
    do {
      const r = step(i++);
      if (r) await r;
      steps++;
      elapsed = (performance.now() - t0) / 1000;
    } while (elapsed < o.seconds);
    repetitions.push({ steps, seconds: elapsed, samples_per_s: (steps * batch) / elapsed });
  }
  const cpu = process.cpuUsage(cpu0), wall = (performance.now() - wall0) * 1000;
  return {
    samples_per_s: median(repetitions.map((r) => r.samples_per_s)), repetitions, warmup_steps: o.warmupSteps,
    cpu_utilization: (cpu.user + cpu.system) / wall,
  };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Peak resident set of this process so far, in MiB: VmHWM from /proc/self/status on Linux,
 * else `process.resourceUsage().maxRSS`. Linux carries getrusage's maxRSS across fork and
 * exec (the kernel keeps the larger of the parent's RSS at fork and the child's own), so in
 * a child spawned by a large parent maxRSS reports the parent; VmHWM belongs to the process's
 * own address space.
 */
export function peakRssMb(): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return rusageMaxRssMb();
}

/** `process.resourceUsage().maxRSS` (KiB) in MiB. */
export const rusageMaxRssMb = () => process.resourceUsage().maxRSS / 1024;

/** One training system's result, as a worker prints it (the last line of its stdout). */
export interface SystemResult {
  name: string;
  /** 'mlp' or 'cnn' (absent in reports from before the CNN workload: the MLP). */
  workload?: WorkloadName;
  /** The kernel backend: 'js', 'wasm', 'native' (ridgeline); 'cpu', 'wasm' (TF.js); 'cpu' (PyTorch). */
  backend: string;
  threads: number | null;
  samples_per_s: number | null;
  skipped?: string;
  timing?: Timing;
  /** Loss the framework reported for the last timed step (a sanity check that it trains). */
  last_loss?: number;
  /** Peak RSS of the system's own process (peakRssMb), and what getrusage says (see peakRssMb). */
  peak_rss_mb?: number;
  rusage_max_rss_mb?: number;
  versions?: Record<string, string>;
  details?: Record<string, unknown>;
}

/** The shapes the Dense layers of 784-256-256-10 call at B = 128 (src/nn/dense.ts), then 1024³. */
export interface GemmShape {
  use: string;
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  /** β as the layer passes it: 1 for dW (accumulated into the zeroed grad), 0 otherwise. */
  beta: number;
}

export function gemmShapes(): GemmShape[] {
  const { sizes, batch: B } = WORKLOAD;
  const shapes: GemmShape[] = [];
  for (let l = 1; l < sizes.length; l++) {
    const inp = sizes[l - 1], out = sizes[l];
    // forward: y[B, out] = x[B, in] · W[out, in]ᵀ
    shapes.push({ use: `dense${l} forward`, transA: false, transB: true, m: B, n: out, k: inp, beta: 0 });
    // backward: dW[out, in] += dy[B, out]ᵀ · x[B, in]
    shapes.push({ use: `dense${l} dW`, transA: true, transB: false, m: out, n: inp, k: B, beta: 1 });
    // backward: dx[B, in] = dy[B, out] · W[out, in] (not for the first layer: no input gradient)
    if (l > 1) shapes.push({ use: `dense${l} dX`, transA: false, transB: false, m: B, n: inp, k: out, beta: 0 });
  }
  shapes.push({ use: 'square 1024³', transA: false, transB: false, m: 1024, n: 1024, k: 1024, beta: 0 });
  return shapes;
}

export const shapeLabel = (s: GemmShape) => `${s.transA ? 'T' : 'N'}${s.transB ? 'T' : 'N'} ${s.m}x${s.n}x${s.k}`;
