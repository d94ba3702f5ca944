/**
 * The fuzz targets: every parser and validator a user's input reaches, each with inputs made by
 * fast-check from a valid example (byte flips, truncation, splices, random JSON in place of
 * fields, hostile strings) and the invariant an accepted input must satisfy. A case ends as:
 *
 *   clean     a RidgelineError: one `ridgeline:` line and exit 2, what a user should see
 *   accepted  parsed, and the result passes the target's invariant (else it is 'garbage')
 *   garbage   parsed into something that breaks the invariant (NaN pixels, a label out of range, …)
 *   stack     any other exception: a stack trace in the CLI
 *   hang      slower than HANG_MS
 *   memory    the heap grew by more than MEMORY_LIMIT while parsing
 */
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { parseCsv } from '../../src/data/csv.js';
import { encodeIdx, parseIdx, idxToDataset } from '../../src/data/idx.js';
import { RidgelineError } from '../../src/errors.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/format/checkpoint.js';
import { decodeModel, encodeModel } from '../../src/format/model-file.js';
import { mlpSpec, parseArch } from '../../src/nn/spec.js';
import { parseCoefficient } from '../../src/regularization/conventions.js';
import { parseStudyConfig } from '../../src/study/config.js';
import { preset } from '../../src/study/presets.js';
import { expandTrials } from '../../src/study/trials.js';
import { Sequential } from '../../src/nn/sequential.js';
import { jsBackend } from '../../src/kernels/js/index.js';
import { gunzipIfNeeded } from '../../src/data/bytes.js';

export type Outcome = 'clean' | 'accepted' | 'garbage' | 'stack' | 'hang' | 'memory';
export const HANG_MS = 2000;
export const MEMORY_LIMIT = 1 << 30;

export interface Target<T> {
  name: string;
  arbitrary: fc.Arbitrary<T>;
  /** Parses the input; returns whether what it produced is sound (false: garbage). */
  run(input: T): boolean | Promise<boolean>;
}

/** Mutations of a valid byte string: flips, truncations, insertions, overwrites of a window. */
function mutated(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const at = fc.nat({ max: Math.max(0, valid.length - 1) });
  return fc.oneof(
    fc.tuple(at, fc.integer({ min: 0, max: 255 })).map(([i, b]) => { const c = valid.slice(); c[i] = b; return c; }),
    fc.tuple(at, fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 })).map(([i, bs]) => { const c = valid.slice(); c.set(bs.slice(0, c.length - i), i); return c; }),
    at.map((i) => valid.slice(0, i)),
    fc.tuple(at, fc.uint8Array({ minLength: 1, maxLength: 64 })).map(([i, ins]) => new Uint8Array([...valid.subarray(0, i), ...ins, ...valid.subarray(i)])),
    fc.uint8Array({ maxLength: 512 }),
  );
}

// ---- IDX -----------------------------------------------------------------------------------

const idxImages = encodeIdx([3, 4, 4], Uint8Array.from({ length: 48 }, (_, i) => (i * 37) % 256));
const idxLabels = encodeIdx([3], Uint8Array.from([1, 2, 9]));

export const idx: Target<Uint8Array> = {
  name: 'IDX',
  arbitrary: fc.oneof(mutated(idxImages), mutated(gzipSync(idxImages))),
  async run(bytes) {
    const raw = await gunzipIfNeeded(bytes, 'fuzz.gz', 1 << 20);
    const images = parseIdx(raw, 'fuzz');
    if (images.dims[0] !== 3) return true; // a valid IDX of other dimensions: parsed as declared
    const ds = idxToDataset(images, parseIdx(idxLabels, 'labels'), 'fuzz');
    return ds.images.every((v) => v >= 0 && v <= 1) && images.data.length === images.dims.reduce((a, b) => a * b, 1);
  },
};

// ---- CSV -----------------------------------------------------------------------------------

const CSV_CELLS = ['0', '255', '12', '3.5', '1e2', '-1', '256', 'nan', 'inf', 'NaN', '', ' ', '"7"', '0x1f', '1_0', 'label', 'pixel1', '+.5', '٣', '1,2', '\t', 'Infinity', '-0'];
const csvRow = fc.array(fc.oneof(fc.constantFrom(...CSV_CELLS), fc.string({ maxLength: 4 })), { minLength: 1, maxLength: 6 }).map((cells) => cells.join(','));

export const csv: Target<string> = {
  name: 'CSV',
  arbitrary: fc.oneof(
    fc.array(csvRow, { minLength: 1, maxLength: 6 }).map((rows) => rows.join('\n')),
    fc.array(csvRow, { minLength: 1, maxLength: 6 }).map((rows) => rows.join('\r\n') + '\n'),
    fc.string({ maxLength: 200 }),
  ),
  run(text) {
    const r = parseCsv(text, { labelColumn: 'auto', header: 'auto', what: 'fuzz.csv' });
    return r.images.every((v) => Number.isFinite(v) && v >= 0 && v <= 1) && (r.labels === null || r.labels.every((y) => Number.isInteger(y) && y >= 0 && y < 10));
  },
};

// ---- safetensors: model and checkpoint -------------------------------------------------------

const spec = mlpSpec(6, [4], 3);
const model = new Sequential(spec, { backend: jsBackend, maxBatch: 4, seed: 1 });
const modelBytes = encodeModel(spec, model.tensors, { training: '{}' });

export const modelFile: Target<Uint8Array> = {
  name: 'safetensors model',
  arbitrary: mutated(modelBytes),
  run(bytes) {
    const m = decodeModel(bytes, 'fuzz.safetensors');
    // Accepted: a model we could build and whose tensors are all finite.
    new Sequential(m.spec, { backend: jsBackend, maxBatch: 2, seed: 1 });
    return [...m.tensors.values()].every((t) => (t.data as Float32Array).every(Number.isFinite));
  },
};

const checkpointBytes = encodeCheckpoint({
  epoch: 1, step: 3, params: new Map(model.tensors.map((p) => [p.name, p.value.slice()])),
  optimizer: { tensors: new Map([['0.momentum.dense1.weight', new Float32Array(24)]]), scalars: { '0.count': 3 } },
  rng: { shuffle: [1, 2, 3, 4], dropout: [5, 6, 7, 8] },
  history: [{ epoch: 1, step: 3, lr: 0.1, data_loss: 1, penalty: 0, total: 1, train_accuracy: 0.5, val_loss: null, val_accuracy: null, weight_norm_sq: 2, seconds: 0.1 }],
}, { options: { epochs: '2' }, train: { model: spec, optimizer: { name: 'sgd' } } });

/** Replaces one metadata value of a safetensors file with hostile JSON. */
const metadataSwap = fc.tuple(
  fc.constantFrom('epoch', 'step', 'rng', 'optimizer_scalars', 'history', 'config', 'format'),
  fc.oneof(fc.json({ maxDepth: 3 }), fc.constantFrom('{}', '[]', 'null', '-1', '1e400', '"x"', '[{"epoch":1}]', '{"shuffle":[1,2,3,4]}')),
).map(([key, value]) => {
  const headerLength = Number(new DataView(checkpointBytes.buffer, checkpointBytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(checkpointBytes.subarray(8, 8 + headerLength)));
  header.__metadata__[key] = value;
  const text = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + checkpointBytes.length - 8 - headerLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(checkpointBytes.subarray(8 + headerLength), 8 + text.length);
  return out;
});

export const checkpoint: Target<Uint8Array> = {
  name: 'safetensors checkpoint',
  arbitrary: fc.oneof(mutated(checkpointBytes), metadataSwap),
  run(bytes) {
    const c = decodeCheckpoint(bytes, 'fuzz.ckpt');
    return Number.isInteger(c.state.epoch) && c.state.history.length === c.state.epoch && c.state.rng.shuffle.length === 4;
  },
};

// ---- study config ----------------------------------------------------------------------------

const validConfig = JSON.parse(JSON.stringify(preset('width', false)[0])) as Record<string, unknown>;
const studyKeys = ['name', 'axis', 'values', 'lambda', 'decay', 'refine', 'metric', 'seeds', 'base', 'budget', 'adamlr', 'seed', 'epoch'];

export const studyConfig: Target<unknown> = {
  name: 'study config',
  arbitrary: fc.oneof(
    fc.tuple(fc.constantFrom(...studyKeys), fc.json({ maxDepth: 2 })).map(([k, v]) => ({ ...validConfig, [k]: JSON.parse(v) })),
    fc.tuple(fc.constantFrom('hidden', 'arch', 'lr', 'batch', 'trainSize', 'validation', 'optimizer', 'schedule', 'mupBaseWidth', 'adamlr'), fc.json({ maxDepth: 1 }))
      .map(([k, v]) => ({ ...validConfig, base: { ...(validConfig.base as object), [k]: JSON.parse(v) } })),
    fc.json({ maxDepth: 3 }).map((j) => JSON.parse(j)),
  ),
  run(json) {
    const c = parseStudyConfig(json, 'fuzz.json');
    const trials = expandTrials(c, { label: 'fuzz', classes: 10 });
    return new Set(trials.map((t) => t.id)).size === trials.length && trials.length <= 64 * 41 * 64;
  },
};

// ---- CLI option parsers: --arch and coefficients ---------------------------------------------

const ARCH_TOKENS = ['dense:8', 'dense:0', 'dense:1e9', 'conv:4x3', 'conv:4x3p1', 'conv:100000x3', 'conv:4x99', 'pool:2', 'maxpool:3s2', 'avgpool:2', 'gap', 'flatten', 'bn', 'bn:0', 'bn:2', 'ln', 'relu', 'tanh', 'gelu', 'dropout:0.5', 'dropout:1', 'dense:10', 'x', '', ':', 'dense:', 'conv:4x3s0'];

export const cliFlags: Target<{ arch: string; coefficient: string }> = {
  name: 'CLI flags (--arch, --l2/--decay)',
  arbitrary: fc.record({
    arch: fc.oneof(fc.array(fc.constantFrom(...ARCH_TOKENS), { minLength: 1, maxLength: 8 }).map((t) => t.join(',')), fc.string({ maxLength: 40 })),
    coefficient: fc.oneof(
      fc.tuple(fc.constantFrom('seed:lambda', 'sklearn-mlp:alpha', 'pytorch-adamw:weight_decay', 'nope:x', 'timescale:tau', 'seed', ''), fc.constantFrom('1e-4', '0', '-1', 'nan', 'inf', '1e400', 'x', '')).map(([c, v]) => (c ? `${c}=${v}` : v)),
      fc.string({ maxLength: 30 }),
    ),
  }),
  run({ arch, coefficient }) {
    let ok = true;
    try {
      const spec = parseArch(arch, [1, 8, 8], 10);
      ok = spec.layers.length > 0;
    } catch (e) {
      if (!(e instanceof RidgelineError)) throw e;
    }
    const c = parseCoefficient(coefficient, 'seed', '--l2');
    return ok && Number.isFinite(c.value) && c.value >= 0;
  },
};

export const TARGETS: Target<any>[] = [idx, csv, modelFile, checkpoint, studyConfig, cliFlags];

/** Runs one case and classifies it. */
export async function classify<T>(target: Target<T>, input: T): Promise<Outcome> {
  const heap = process.memoryUsage().heapUsed;
  const started = performance.now();
  let outcome: Outcome;
  try {
    outcome = (await target.run(input)) ? 'accepted' : 'garbage';
  } catch (e) {
    outcome = e instanceof RidgelineError ? 'clean' : 'stack';
  }
  if (performance.now() - started > HANG_MS) return 'hang';
  if (process.memoryUsage().heapUsed - heap > MEMORY_LIMIT) return 'memory';
  return outcome;
}

/** `cases` inputs of each target, counted by outcome; the first few inputs of each bad outcome kept. */
export async function fuzz(target: Target<any>, cases: number, seed: number): Promise<{ counts: Record<Outcome, number>; bad: { outcome: Outcome; input: unknown; error?: string }[] }> {
  const counts: Record<Outcome, number> = { clean: 0, accepted: 0, garbage: 0, stack: 0, hang: 0, memory: 0 };
  const bad: { outcome: Outcome; input: unknown; error?: string }[] = [];
  for (const input of fc.sample(target.arbitrary, { numRuns: cases, seed })) {
    const outcome = await classify(target, input);
    counts[outcome]++;
    if (outcome !== 'clean' && outcome !== 'accepted' && bad.length < 5) {
      let error: string | undefined;
      try { await target.run(input); } catch (e) { error = String((e as Error).stack ?? e).split('\n').slice(0, 3).join(' | '); }
      bad.push({ outcome, input, error });
    }
  }
  return { counts, bad };
}
