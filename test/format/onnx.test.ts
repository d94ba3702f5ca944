/**
 * ONNX export checked by ONNX Runtime (onnxruntime-node, its CPU binary from npm): an MLP and a
 * CNN with every exportable layer (conv with stride and padding, BatchNorm with trained running
 * statistics, max, average and global average pooling, LayerNorm, ReLU, tanh, GELU, dropout)
 * give ridgeline's logits within 1e-4 relative and the same predicted classes; the softmax
 * output sums to 1; the architecture travels in the metadata.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { encodeOnnx } from '../../src/format/onnx.js';
import { mlpSpec, parseArch, type ModelSpec } from '../../src/nn/spec.js';
import { Sequential } from '../../src/nn/sequential.js';
import { jsBackend } from '../../src/kernels/js/index.js';
import { Rng } from '../../src/tensor/rng.js';

const BATCH = 16;

async function compare(spec: ModelSpec, softmax = false): Promise<{ maxRel: number; sameClasses: boolean; out: Float32Array }> {
  const model = new Sequential(spec, { backend: jsBackend, maxBatch: BATCH, seed: 3 });
  const rng = new Rng(11);
  // Nontrivial BatchNorm statistics and gains, so eval mode is really tested.
  for (const t of model.tensors) {
    if (t.name.endsWith('running_mean')) t.value.forEach((_, i, a) => { a[i] = 0.1 * rng.normal(); });
    if (t.name.endsWith('running_var')) t.value.forEach((_, i, a) => { a[i] = 0.5 + rng.uniform(); });
    if (/^(bn|ln)\d+\.(weight|bias)$/.test(t.name)) t.value.forEach((_, i, a) => { a[i] += 0.2 * rng.normal(); });
  }
  const x = Float32Array.from({ length: BATCH * spec.inputSize }, () => rng.uniform());
  const logits = model.forward(x, BATCH, false).slice();
  const session = await ort.InferenceSession.create(encodeOnnx(spec, model.tensors, { softmax }));
  const dims = [BATCH, ...(spec.inputShape ?? [spec.inputSize])];
  const result = await session.run({ input: new ort.Tensor('float32', x, dims) });
  const out = result[softmax ? 'probabilities' : 'logits'].data as Float32Array;
  const C = spec.classes;
  const reference = softmax ? softmaxRows(logits, C) : logits;
  let maxAbs = 0, maxRef = 0;
  for (let i = 0; i < out.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(out[i] - reference[i]));
    maxRef = Math.max(maxRef, Math.abs(reference[i]));
  }
  const argmax = (a: Float32Array, r: number) => { let b = 0; for (let j = 1; j < C; j++) if (a[r * C + j] > a[r * C + b]) b = j; return b; };
  const sameClasses = Array.from({ length: BATCH }, (_, r) => argmax(out, r) === argmax(reference, r)).every(Boolean);
  return { maxRel: maxAbs / maxRef, sameClasses, out };
}

function softmaxRows(x: Float32Array, C: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < x.length / C; r++) {
    const row = x.subarray(r * C, (r + 1) * C), m = Math.max(...row);
    let s = 0;
    for (let j = 0; j < C; j++) s += (y[r * C + j] = Math.exp(row[j] - m));
    for (let j = 0; j < C; j++) y[r * C + j] /= s;
  }
  return y;
}

test('ONNX Runtime runs an exported MLP: the same logits and classes', async () => {
  const r = await compare(mlpSpec(784, [64, 32], 10, 'relu', 0.25));
  assert.ok(r.maxRel < 1e-4, `max relative difference ${r.maxRel}`);
  assert.ok(r.sameClasses);
});

test('ONNX Runtime runs an exported CNN with every layer kind', async () => {
  const spec = parseArch('conv:6x3s2p1,bn,relu,conv:8x3p1,gelu,pool:2,avgpool:2,conv:10x1,tanh,gap,ln,dense:12,bn,relu,dropout:0.1,dense:10', [1, 28, 28], 10);
  const r = await compare(spec);
  assert.ok(r.maxRel < 1e-4, `max relative difference ${r.maxRel}`);
  assert.ok(r.sameClasses);
});

test('softmax output and the architecture in the metadata', async () => {
  const spec = mlpSpec(784, [16], 10, 'tanh');
  const r = await compare(spec, true);
  assert.ok(r.maxRel < 1e-4, `max relative difference ${r.maxRel}`);
  for (let i = 0; i < BATCH; i++) assert.ok(Math.abs(r.out.subarray(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0) - 1) < 1e-5);
  const model = new Sequential(spec, { backend: jsBackend, maxBatch: 1, seed: 1 });
  const decoded = onnxProto.onnx.ModelProto.decode(encodeOnnx(spec, model.tensors));
  const meta = Object.fromEntries(decoded.metadataProps.map((p) => [p.key, p.value]));
  assert.equal(meta.ridgeline_arch, 'dense:16,tanh,dense:10');
  assert.deepEqual(JSON.parse(meta.ridgeline_architecture!), spec);
  assert.equal(Number(decoded.opsetImport[0].version), 17);
});
