/**
 * One benchmark task in its own process, spawned by bench/run.ts (one at a time), so TF.js's
 * global backend state, WASM memories and native thread pools never meet another system:
 *
 *   node --import tsx bench/worker.ts train ridgeline <native|wasm|js> <batch dir> [--workload mlp|cnn] [--quick] [--name N]
 *   node --import tsx bench/worker.ts train tfjs <cpu|wasm>             <batch dir> [--workload mlp|cnn] [--quick]
 *   node --import tsx bench/worker.ts gemm <native|wasm|js>                         [--quick]
 *   node --expose-gc --import tsx bench/worker.ts memory <native|wasm|js> <batch dir> [--quick]
 *
 * `train` also takes `--warmup N --seconds S --repetitions R` (bench/systems.ts passes them,
 * from common.ts timingFor or pairTimingFor); without them the workload's full or `--quick`
 * timing applies. The sweep (bench/sweep.ts) adds `--width W` (the MLP's hidden width) and
 * `--batch B` (the same rows cut into batches of B).
 * The result is one JSON object on the last line of stdout; everything else goes to stderr.
 */
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Backend } from '../src/kernels/backend.js';
import { backendThreads, type BackendName } from '../src/kernels/select.js';
import { tryLoad } from '../src/kernels/select-node.js';
import { createDataset } from '../src/data/dataset.js';
import { type LayerSpec, type ModelSpec } from '../src/nn/spec.js';
import { regularizationTerm } from '../src/regularization/plan.js';
import { Trainer, type TrainConfig } from '../src/train/trainer.js';
import {
  CNN_ARCH, CNN_PARAMS, CNN_WORKLOAD, REPO_ROOT, WORKLOAD, WORKLOAD_NAMES, cnnSpec, gemmShapes, median, mlpModel, peakRssMb,
  rebatch, rusageMaxRssMb, readBatches, shapeLabel, timeSteps, timingFor,
  type Batches, type SystemResult, type TimingOptions, type WorkloadName,
} from './common.js';
import { FILTER_GRAD_SHIM, registerWasmFilterGrad } from './tfjs_wasm_filter_grad.js';

// Libraries (TF.js in particular) may print to stdout; only the result line goes there.
console.log = console.error;
console.info = console.error;

const require = createRequire(import.meta.url);
const packageVersion = (name: string): string => {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
};

const ridgelineVersion = () => (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false }, name: { type: 'string' }, workload: { type: 'string', default: 'mlp' },
    warmup: { type: 'string' }, seconds: { type: 'string' }, repetitions: { type: 'string' },
    // The sweep (bench/sweep.ts): the MLP's hidden width and the batch size.
    width: { type: 'string' }, batch: { type: 'string' },
  },
});
const [task, ...rest] = positionals;
const quick = flags.quick;
if (!(WORKLOAD_NAMES as readonly string[]).includes(flags.workload)) throw new Error(`unknown workload '${flags.workload}' (${WORKLOAD_NAMES.join(', ')})`);
const workload = flags.workload as WorkloadName;
const timing: TimingOptions = {
  ...timingFor(workload, quick),
  ...(flags.warmup !== undefined ? { warmupSteps: Number(flags.warmup) } : {}),
  ...(flags.seconds !== undefined ? { seconds: Number(flags.seconds) } : {}),
  ...(flags.repetitions !== undefined ? { repetitions: Number(flags.repetitions) } : {}),
};

const width = flags.width !== undefined ? Number(flags.width) : undefined;
if (width !== undefined && (workload !== 'mlp' || !Number.isInteger(width) || width < 1)) throw new Error(`--width takes a positive integer, for the MLP only (got '${flags.width}')`);
/** The batches as run.ts wrote them, cut to --batch when given. */
const batchesIn = (dir: string): Batches => (flags.batch !== undefined ? rebatch(readBatches(dir), Number(flags.batch)) : readBatches(dir));

function emit(result: unknown): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/**
 * Threads a backend computes with, when it says (a `threads` number or method, or the native
 * backend's `blasThreads()`); the js backend is single-threaded.
 */
/** Whatever a backend says about itself beyond the kernels (e.g. the native backend's BLAS build). */
function backendInfo(b: Backend): Record<string, unknown> {
  const o = b as unknown as Record<string, unknown>;
  const info: Record<string, unknown> = {};
  for (const key of ['blas', 'variant', 'simd', 'version']) if (typeof o[key] === 'string' || typeof o[key] === 'boolean') info[key] = o[key];
  // The native backend's GEMM (own AVX-512 kernel, the system BLAS, or the portable C one).
  if (typeof o.gemmKind === 'function') info.gemm = (o.gemmKind as () => unknown).call(b);
  for (const k of ['OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS']) if (process.env[k]) info[k] = process.env[k];
  return info;
}

/** The backend, or why it is skipped (it did not load here). */
async function loadBackend(name: string): Promise<{ backend: Backend } | { skipped: string }> {
  if (name !== 'native' && name !== 'wasm' && name !== 'js') throw new Error(`unknown ridgeline backend '${name}'`);
  const r = await tryLoad(name as BackendName);
  return 'error' in r ? { skipped: r.error } : { backend: r.backend };
}

/** The MLP, or the CNN parsed from CNN_ARCH (examples then read as 1×28×28 NCHW images). */
function ridgelineTrainer(backend: Backend, data: Batches, batches = data.meta.batches, which: WorkloadName = 'mlp'): Trainer {
  const { meta } = data;
  const cnn = which === 'cnn';
  if (cnn && (meta.features !== CNN_WORKLOAD.inputShape.reduce((a, b) => a * b, 1) || meta.classes !== CNN_WORKLOAD.classes)) {
    throw new Error(`the CNN workload needs ${CNN_WORKLOAD.inputShape.join('×')} images in ${CNN_WORKLOAD.classes} classes; the batches have ${meta.features} features, ${meta.classes} classes`);
  }
  const config: TrainConfig = {
    model: cnn ? cnnSpec() : mlpModel(width),
    optimizer: { name: 'momentum', schedule: { type: 'constant', lr: WORKLOAD.lr }, momentum: WORKLOAD.momentum },
    regularization: [regularizationTerm(`seed:lambda=${WORKLOAD.lambdaE}`)],
    batchSize: meta.batch, epochs: 3, seed: 0,
  };
  const n = batches * meta.batch;
  const shape = cnn ? [...CNN_WORKLOAD.inputShape] : [meta.features];
  const dataset = createDataset(data.x.subarray(0, n * meta.features), data.y.subarray(0, n), shape, meta.classes);
  return new Trainer(config, backend, dataset);
}

async function trainRidgeline(backendName: string, dataDir: string): Promise<SystemResult> {
  const name = flags.name ?? `ridgeline-${backendName}`;
  const loaded = await loadBackend(backendName);
  if ('skipped' in loaded) return { name, workload, backend: backendName, threads: null, samples_per_s: null, skipped: loaded.skipped };
  const { backend } = loaded;
  const data = batchesIn(dataDir);
  const { batch: B, features: F, batches } = data.meta;
  const trainer = ridgelineTrainer(backend, data, batches, workload);
  const params = trainer.model.paramCount;
  if (workload === 'cnn' && params !== CNN_PARAMS) throw new Error(`ridgeline's CNN has ${params} parameters, paramShapes says ${CNN_PARAMS}`);
  const xs = Array.from({ length: batches }, (_, i) => data.x.subarray(i * B * F, (i + 1) * B * F));
  const ys = Array.from({ length: batches }, (_, i) => data.y.subarray(i * B, (i + 1) * B));
  let lastLoss = NaN;
  const t = await timeSteps((i) => {
    const { dataLoss, penalty } = trainer.trainStep(xs[i % batches], ys[i % batches], B);
    lastLoss = dataLoss + penalty;
  }, B, timing);
  return {
    name, workload, backend: backend.name, threads: backendThreads(backend), samples_per_s: t.samples_per_s, timing: t,
    last_loss: lastLoss, peak_rss_mb: peakRssMb(), rusage_max_rss_mb: rusageMaxRssMb(),
    versions: { ridgeline: ridgelineVersion(), node: process.versions.node },
    details: {
      ...backendInfo(backend), chain: trainer.chainNames(), fused_optimizer: trainer.updater.fused, regularization: trainer.config.regularization.map((r) => r.given),
      ...(workload === 'cnn' ? { arch: CNN_ARCH, trainable_params: params, decayed: trainer.decayed.map((p) => p.name) } : {}),
    },
  };
}

type Tf = typeof import('@tensorflow/tfjs');

/**
 * A ridgeline ModelSpec of image layers as TF.js layers, NHWC (TF.js's conv2d and pooling have
 * no channels-first kernels on cpu and wasm): the input is [H, W, C]; `conv:FxKpP` is conv2d
 * with padding 'same' when stride 1 and 2P = K − 1, 'valid' when P = 0, else zeroPadding2d
 * then 'valid'; `bn` is batchNormalization over the last axis with Keras momentum = 1 − PyTorch
 * momentum; a ReLU right after a dense or conv layer is that layer's activation (as a Keras
 * model is written), elsewhere an activation layer. The L2 kernel regularizer goes on every
 * conv and dense kernel (the weights ridgeline decays by default). Flatten of NHWC orders the
 * features H, W, C, not C, H, W: the same work, a different permutation of dense1's inputs.
 */
function tfjsLayers(tf: Tf, spec: ModelSpec, lambdaE: number): import('@tensorflow/tfjs').layers.Layer[] {
  const [c, h, w] = spec.inputShape ?? [spec.inputSize];
  const inputShape = spec.inputShape ? [h, w, c] : [spec.inputSize];
  const l2 = () => tf.regularizers.l2({ l2: lambdaE });
  const out: import('@tensorflow/tfjs').layers.Layer[] = [];
  const first = () => (out.length === 0 ? { inputShape } : {});
  const layers = spec.layers;
  for (let i = 0; i < layers.length; i++) {
    const l: LayerSpec = layers[i];
    const fuse = (l.type === 'dense' || l.type === 'conv2d') && layers[i + 1]?.type === 'relu';
    const activation = fuse ? 'relu' as const : 'linear' as const;
    switch (l.type) {
      case 'dense':
        out.push(tf.layers.dense({ ...first(), units: l.units, activation, kernelRegularizer: l2() }));
        break;
      case 'conv2d': {
        const stride = l.stride ?? 1, pad = l.padding ?? 0;
        const same = stride === 1 && 2 * pad === l.kernel - 1;
        if (!same && pad > 0) out.push(tf.layers.zeroPadding2d({ ...first(), padding: pad }));
        out.push(tf.layers.conv2d({
          ...first(), filters: l.filters, kernelSize: l.kernel, strides: stride, padding: same ? 'same' : 'valid',
          activation, kernelRegularizer: l2(),
        }));
        break;
      }
      case 'batchnorm':
        out.push(tf.layers.batchNormalization({ ...first(), axis: -1, momentum: 1 - (l.momentum ?? 0.1), epsilon: l.eps ?? 1e-5 }));
        break;
      case 'relu':
        out.push(tf.layers.activation({ ...first(), activation: 'relu' }));
        break;
      case 'maxpool2d':
        out.push(tf.layers.maxPooling2d({ ...first(), poolSize: l.size, strides: l.stride ?? l.size }));
        break;
      case 'flatten':
        out.push(tf.layers.flatten({ ...first() }));
        break;
      default:
        throw new Error(`the TF.js bench builder has no mapping for layer type '${l.type}'`);
    }
    if (fuse) i++; // the relu went into this layer
  }
  return out;
}

async function trainTfjs(which: string, dataDir: string): Promise<SystemResult> {
  const name = flags.name ?? `tfjs-${which}`;
  const tf = await import('@tensorflow/tfjs');
  const details: Record<string, unknown> = {};
  let threads = 1;
  if (which === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // In Node the .wasm binaries are read from disk: point at the package's dist directory.
    wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  } else if (which !== 'cpu') {
    throw new Error(`unknown TF.js backend '${which}'`);
  }
  tf.enableProdMode();
  if (!(await tf.setBackend(which))) {
    return { name, workload, backend: which, threads: null, samples_per_s: null, skipped: `tf.setBackend('${which}') failed` };
  }
  await tf.ready();
  if (which === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const multithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    threads = wasm.getThreadsCount();
    details.simd = simd;
    details.multithread = multithread;
    details.wasm_binary = multithread ? (simd ? 'tfjs-backend-wasm-threaded-simd.wasm' : 'tfjs-backend-wasm.wasm') : simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
  }

  const data = readBatches(dataDir);
  const { batch: B, features: F, classes: C, batches } = data.meta;
  const [, h1, h2, out] = WORKLOAD.sizes;
  const l2 = () => tf.regularizers.l2({ l2: WORKLOAD.lambdaE });
  const cnn = workload === 'cnn';
  // tfjs-backend-wasm 4.22 cannot train a conv layer (no Conv2DBackpropFilter kernel): register
  // the bench's, built from wasm's own kernels, and say so in the report.
  if (cnn && which === 'wasm' && registerWasmFilterGrad(tf)) details.conv2d_backprop_filter = FILTER_GRAD_SHIM;
  const model = tf.sequential({
    layers: cnn ? tfjsLayers(tf, cnnSpec(), CNN_WORKLOAD.lambdaE) : [
      tf.layers.dense({ units: h1, activation: 'relu', inputShape: [F], kernelRegularizer: l2() }),
      tf.layers.dense({ units: h2, activation: 'relu', kernelRegularizer: l2() }),
      tf.layers.dense({ units: out, activation: 'linear', kernelRegularizer: l2() }),
    ],
  });
  if (cnn) {
    // The same network as ridgeline's: trainable parameters (kernels, biases, BN γ/β) must match.
    const trainable = model.trainableWeights.reduce((s, v) => s + v.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
    if (trainable !== CNN_PARAMS) throw new Error(`the TF.js CNN has ${trainable} trainable parameters, ridgeline's ${CNN_ARCH} has ${CNN_PARAMS}`);
    details.arch = CNN_ARCH;
    details.trainable_params = trainable;
    details.layout = 'NHWC input [B, 28, 28, 1]';
    details.layers = model.layers.map((l) => l.getClassName() + (l.getConfig().activation && l.getConfig().activation !== 'linear' ? `(${String(l.getConfig().activation)})` : ''));
  }
  // Mean softmax CE on the logits (SUM_BY_NONZERO_WEIGHTS without weights is the mean).
  model.compile({
    optimizer: tf.train.momentum(WORKLOAD.lr, WORKLOAD.momentum),
    loss: (yTrue: import('@tensorflow/tfjs').Tensor, yPred: import('@tensorflow/tfjs').Tensor) => tf.losses.softmaxCrossEntropy(yTrue, yPred),
  });
  // The CNN reads each 784-value row as a 28×28×1 NHWC image: with one channel NHWC and NCHW are the same bytes.
  const [ch, hh, ww] = CNN_WORKLOAD.inputShape;
  const xs = Array.from({ length: batches }, (_, i) => cnn
    ? tf.tensor4d(data.x.subarray(i * B * F, (i + 1) * B * F), [B, hh, ww, ch])
    : tf.tensor2d(data.x.subarray(i * B * F, (i + 1) * B * F), [B, F]));
  const ys = Array.from({ length: batches }, (_, i) => {
    const oneHot = new Float32Array(B * C);
    for (let r = 0; r < B; r++) oneHot[r * C + data.y[i * B + r]] = 1;
    return tf.tensor2d(oneHot, [B, C]);
  });
  let lastLoss = NaN;
  const tensorsBefore = tf.memory().numTensors;
  const t = await timeSteps(async (i) => {
    lastLoss = (await model.trainOnBatch(xs[i % batches], ys[i % batches])) as number;
  }, B, timing);
  // The optimizer's momentum accumulators (one per variable) appear during the warm-up.
  details.tensors_before_warmup = tensorsBefore;
  details.tensors_after_timing = tf.memory().numTensors;
  details.api = 'model.trainOnBatch (loss read back every step)';
  const versions: Record<string, string> = { tfjs: tf.version.tfjs, node: process.versions.node };
  if (which === 'wasm') versions['tfjs-backend-wasm'] = packageVersion('@tensorflow/tfjs-backend-wasm');
  return {
    name, workload, backend: tf.getBackend(), threads, samples_per_s: t.samples_per_s, timing: t, last_loss: lastLoss,
    peak_rss_mb: peakRssMb(), rusage_max_rss_mb: rusageMaxRssMb(), versions, details,
  };
}

/** GFLOP/s of backend.gemm at each shape: median of 3 repetitions, each ≥ `seconds` of calls. */
async function gemm(backendName: string): Promise<unknown> {
  const loaded = await loadBackend(backendName);
  if ('skipped' in loaded) return { backend: backendName, skipped: loaded.skipped };
  const { backend } = loaded;
  const seconds = quick ? 0.02 : 0.4;
  const reps = quick ? 1 : 3;
  let seed = 12345;
  const fill = (a: Float32Array) => {
    for (let i = 0; i < a.length; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      a[i] = (seed / 2 ** 32) * 2 - 1;
    }
    return a;
  };
  const results = [];
  for (const s of gemmShapes()) {
    const a = fill(new Float32Array(s.m * s.k)), b = fill(new Float32Array(s.k * s.n)), c = new Float32Array(s.m * s.n);
    const flop = 2 * s.m * s.n * s.k;
    const call = () => backend.gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, b, s.beta, c);
    // Warm-up: at least one call, up to ~seconds/4 of them (--quick: one, and none for 1024³).
    const w0 = performance.now();
    if (!quick || flop < 1e8) do call(); while (!quick && performance.now() - w0 < (seconds * 1000) / 4);
    const rates: number[] = [];
    let calls = 0;
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      let n = 0, dt = 0;
      do {
        call();
        n++;
        dt = (performance.now() - t0) / 1000;
      } while (dt < seconds);
      calls += n;
      rates.push((flop * n) / dt / 1e9);
    }
    if (s.beta === 1) c.fill(0);
    results.push({ shape: shapeLabel(s), use: s.use, transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, gflops: median(rates), calls });
    process.stderr.write(`  gemm ${backend.name} ${shapeLabel(s).padEnd(18)} ${median(rates).toFixed(2)} GFLOP/s\n`);
  }
  return { backend: backend.name, threads: backendThreads(backend), ...backendInfo(backend), shapes: results, peak_rss_mb: peakRssMb(), rusage_max_rss_mb: rusageMaxRssMb() };
}

const MEMORY_EPOCHS = 6, MEMORY_WARMUP_EPOCHS = 2;

/** MEMORY_EPOCHS epochs of trainer.runEpoch over the pre-loaded batches; RSS (after a GC when exposed) after each. */
async function memory(backendName: string, dataDir: string): Promise<unknown> {
  const loaded = await loadBackend(backendName);
  if ('skipped' in loaded) return { backend: backendName, skipped: loaded.skipped };
  const { backend } = loaded;
  const data = readBatches(dataDir);
  const stepsPerEpoch = quick ? 5 : data.meta.batches;
  const trainer = ridgelineTrainer(backend, data, stepsPerEpoch);
  const gc = (globalThis as { gc?: () => void }).gc;
  const mb = (bytes: number) => bytes / 2 ** 20;
  const sample = () => {
    gc?.();
    const m = process.memoryUsage();
    return { rss_mb: mb(m.rss), heap_used_mb: mb(m.heapUsed), external_mb: mb(m.external) };
  };
  const before = sample();
  const epochs = [];
  for (let e = 0; e < MEMORY_EPOCHS; e++) {
    const metrics = await trainer.runEpoch();
    epochs.push({ epoch: e + 1, steps: trainer.stepsPerEpoch, loss: metrics?.total ?? null, ...sample() });
  }
  // Growth after the warm-up epochs: buffers are allocated once, so later epochs should not add
  // any. Two epochs of warm-up, not one: some memory is first touched late but only once (2-thread
  // wasm: 4-5 MB between epochs 1 and 2 in some runs, then flat over 15 epochs; probably its
  // first re-probe of each GEMM shape, at the 64th call). A leak grows every epoch, and four
  // epochs of 50 steps show it more clearly than two.
  const last = epochs[MEMORY_EPOCHS - 1], base = epochs[MEMORY_WARMUP_EPOCHS - 1];
  const growth = last.rss_mb - base.rss_mb;
  const heapGrowth = last.heap_used_mb - base.heap_used_mb;
  const RSS_TOLERANCE_MB = 4, HEAP_TOLERANCE_MB = 2;
  return {
    backend: backend.name, steps_per_epoch: trainer.stepsPerEpoch, gc_exposed: gc !== undefined, before, epochs,
    warmup_epochs: MEMORY_WARMUP_EPOCHS,
    rss_growth_after_warmup_mb: growth, heap_growth_after_warmup_mb: heapGrowth,
    tolerance_mb: { rss: RSS_TOLERANCE_MB, heap: HEAP_TOLERANCE_MB },
    flat: growth <= RSS_TOLERANCE_MB && heapGrowth <= HEAP_TOLERANCE_MB,
  };
}

async function main(): Promise<unknown> {
  switch (task) {
    case 'train': {
      const [family, backend, dataDir] = rest;
      if (family === 'ridgeline') return trainRidgeline(backend, dataDir);
      if (family === 'tfjs') return trainTfjs(backend, dataDir);
      throw new Error(`unknown system family '${family}' (ridgeline, tfjs)`);
    }
    case 'gemm': return gemm(rest[0]);
    case 'memory': return memory(rest[0], rest[1]);
    default: throw new Error(`unknown task '${task}' (train, gemm, memory)`);
  }
}

try {
  const result = await main();
  emit({ ...(result as object), available_parallelism: availableParallelism() });
} catch (e) {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  emit({ error: (e as Error).message });
  process.exitCode = 1;
}
