/**
 * A plain PyTorch state_dict (torch's own names: 0.weight, 1.running_mean, …; written by
 * tools/make_torch_state_dict_fixture.py) loads into a ridgeline model given its --arch: mapped
 * by order and shape, num_batches_tracked dropped, float16 and bfloat16 widened; the CNN's
 * eval-mode logits equal PyTorch's. A mismatch names both sides. Through the CLI too: evaluate
 * --arch, and train --init.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/node/run-dir.js';
import { jsBackend } from '../../src/kernels/js/index.js';
import { DataError } from '../../src/errors.js';
import { assertSuccess, assertUserError, REPO_ROOT, runCli } from '../helpers/cli.js';

const DIR = join(REPO_ROOT, 'test', 'fixtures', 'torch-state');
const fixture = JSON.parse(readFileSync(join(DIR, 'cnn.json'), 'utf8')) as { arch: string; x: number[]; logits: number[] };
const arch = { text: fixture.arch, inputShape: [1, 28, 28], classes: 10 };

async function logitsOf(file: string): Promise<Float32Array> {
  const { model } = await loadModel(join(DIR, file), jsBackend, { maxBatch: 8, arch });
  return model.forward(Float32Array.from(fixture.x), 8, false).slice();
}

const maxRel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return d / m;
};
const argmaxes = (a: ArrayLike<number>) => Array.from({ length: a.length / 10 }, (_, r) => { let k = 0; for (let j = 1; j < 10; j++) if (a[r * 10 + j] > a[r * 10 + k]) k = j; return k; });

test("a PyTorch CNN's state_dict gives PyTorch's logits; half precision too, to its precision", async () => {
  const f32 = await logitsOf('cnn.f32.safetensors');
  assert.ok(maxRel(f32, fixture.logits) < 1e-5, `float32: ${maxRel(f32, fixture.logits)}`);
  for (const [file, tol] of [['cnn.f16.safetensors', 5e-3], ['cnn.bf16.safetensors', 5e-2]] as const) {
    const half = await logitsOf(file);
    assert.ok(maxRel(half, fixture.logits) < tol, `${file}: ${maxRel(half, fixture.logits)}`);
  }
  assert.deepEqual(argmaxes(f32), argmaxes(fixture.logits));
});

test('a state_dict that does not fit the architecture names both sides; without --arch it is refused', async () => {
  await assert.rejects(loadModel(join(DIR, 'cnn.f32.safetensors'), jsBackend, { maxBatch: 8, arch: { ...arch, text: 'conv:6x3p1,bn,relu,pool:2,conv:4x3s2p1,bn,relu,gap,dense:10' } }),
    (e: unknown) => e instanceof DataError && /tensor 7, 4\.weight \[8,6,3,3\], does not fit conv2\.weight \[4,6,3,3\]/.test(e.message) && /the file: .*the architecture: /s.test(e.message));
  await assert.rejects(loadModel(join(DIR, 'cnn.f32.safetensors'), jsBackend), (e: unknown) => e instanceof DataError && /give its network with options\.arch/.test(e.message));
});

test('through the CLI: evaluate --arch reads the state_dict; train --init starts from it', async () => {
  const r = await runCli(['evaluate', '--model', join(DIR, 'cnn.f32.safetensors'), '--arch', fixture.arch, '--json']);
  assertSuccess(r);
  assert.match(r.stdout, /"accuracy":/);
  const t = await runCli(['train', '--epochs', '1', '--arch', fixture.arch, '--init', join(DIR, 'cnn.bf16.safetensors'), '--quiet']);
  assertSuccess(t);
  assertUserError(await runCli(['train', '--epochs', '1', '--hidden', '8', '--init', join(DIR, 'cnn.f32.safetensors')]), { code: 2, message: ['holds 14 tensors, the architecture needs 4'] });
});
