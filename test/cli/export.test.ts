/**
 * `ridgeline export --format onnx` on a trained run: ONNX Runtime classifies the embedded
 * test images exactly as `ridgeline evaluate` does (the same accuracy), and a bad model file is
 * one clean error.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { EMBEDDED_SAMPLE_DIR, loadIdxDirectory } from '../../src/node/datasets.js';
import { assertSuccess, assertUserError, makeTempDir, removeDir, runCli } from '../helpers/cli.js';

let tmp: string;
before(async () => { tmp = await makeTempDir('ridgeline-export-'); });
after(async () => { await removeDir(tmp); });

test('an exported CNN run classifies the test images as ridgeline evaluate does', async () => {
  const run = join(tmp, 'run');
  assertSuccess(await runCli(['train', '--epochs', '1', '--arch', 'conv:4x3p1,bn,relu,pool:2,flatten,dense:10', '--out', run, '--quiet']));
  const onnxPath = join(tmp, 'model.onnx');
  const r = await runCli(['export', '--model', join(run, 'model.safetensors'), '--format', 'onnx', '--out', onnxPath]);
  assertSuccess(r);
  assert.match(r.stderr, /wrote .*model\.onnx \(ONNX opset 17/);
  const evaluated = await runCli(['evaluate', '--model', join(run, 'model.safetensors'), '--json']);
  assertSuccess(evaluated);
  const accuracy = (JSON.parse(evaluated.stdout.trim().split('\n').pop()!) as { accuracy: number }).accuracy;
  const { test: images } = await loadIdxDirectory(EMBEDDED_SAMPLE_DIR);
  const session = await ort.InferenceSession.create(readFileSync(onnxPath));
  const out = await session.run({ input: new ort.Tensor('float32', images!.images, [images!.count, 1, 28, 28]) });
  const logits = out.logits.data as Float32Array;
  let correct = 0;
  for (let i = 0; i < images!.count; i++) {
    let best = 0;
    for (let j = 1; j < 10; j++) if (logits[i * 10 + j] > logits[i * 10 + best]) best = j;
    if (best === images!.labels[i]) correct++;
  }
  assert.equal(correct / images!.count, accuracy, 'ONNX Runtime and ridgeline agree on every image');
  const bad = join(tmp, 'bad.safetensors');
  writeFileSync(bad, 'not a model');
  assertUserError(await runCli(['export', '--model', bad, '--out', join(tmp, 'x.onnx')]), { code: 2, message: ['bad.safetensors'] });
});
