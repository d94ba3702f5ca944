/**
 * `export --run DIR --to pytorch`, verified by running the script with Debian's PyTorch: the
 * same network from the run's initial weights, the same batches in the same order, the
 * regularization converted to PyTorch's own knobs; after the run's 29 steps the weights equal
 * ridgeline's within 1e-4 relative (norm-wise over the model: max|a − b| / max|b|; float32
 * summation order differs, and Adam magnifies the rounding of near-zero gradients), and the
 * test accuracies agree. Cases: an MLP with momentum and coupled L2, a CNN with BatchNorm and
 * PyTorch's own weight_decay convention, AdamW with a cosine schedule.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors } from '../../src/format/safetensors.js';
import { requires } from '../helpers/requires.js';
import { assertSuccess, makeTempDir, removeDir, runCli } from '../helpers/cli.js';

let tmp: string;
before(async () => { tmp = await makeTempDir('ridgeline-export-torch-'); });
after(async () => { await removeDir(tmp); });

const CASES: [string, string[]][] = [
  ['mlp-momentum-l2', ['--hidden', '32', '--optimizer', 'momentum', '--lr', '0.05', '--l2', '1e-3']],
  ['cnn-bn-pytorch-wd', ['--arch', 'conv:4x3p1,bn,relu,pool:2,conv:8x3s2p1,bn,relu,gap,dense:10', '--l2', 'pytorch-sgd:weight_decay=5e-4', '--decay-params', 'framework']],
  ['mlp-adamw-cosine', ['--hidden', '32,16', '--optimizer', 'adamw', '--lr', '0.002', '--schedule', 'cosine', '--decay', '0.05']],
];

/** max|a − b| over every tensor, divided by max|b|. */
function relativeDifference(a: string, b: string): number {
  const A = decodeSafetensors(new Uint8Array(readFileSync(a)), a).tensors, B = decodeSafetensors(new Uint8Array(readFileSync(b)), b).tensors;
  let diff = 0, scale = 0;
  for (const [name, t] of B) {
    const u = A.get(name);
    assert.ok(u, `${a} lacks ${name}`);
    const x = t.data as Float32Array, y = u.data as Float32Array;
    for (let i = 0; i < x.length; i++) {
      diff = Math.max(diff, Math.abs(x[i] - y[i]));
      scale = Math.max(scale, Math.abs(x[i]));
    }
  }
  return diff / scale;
}

for (const [name, options] of CASES) {
  test(`the PyTorch script of a run (${name}) reaches ridgeline's weights`, requires('python3-torch'), async () => {
    const run = join(tmp, name);
    const trained = await runCli(['train', '--epochs', '1', '--backend', 'js', '--out', run, '--quiet', ...options]);
    assertSuccess(trained);
    const script = join(run, 'train_torch.py');
    assertSuccess(await runCli(['export', '--run', run, '--to', 'pytorch', '--out', script]));
    const printed = execFileSync('/usr/bin/python3', [script], { encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
    assert.match(printed, /^weights checksum [\d.e+-]+, test accuracy [\d.]+% \(1000 images\), 29 steps$/m);
    const rel = relativeDifference(join(run, 'train_torch.weights.safetensors'), join(run, 'model.safetensors'));
    assert.ok(rel < 1e-4, `weights differ by ${rel.toExponential(2)} relative`);
    const torchAccuracy = Number(/test accuracy ([\d.]+)%/.exec(printed)![1]);
    const ours = JSON.parse(readFileSync(join(run, 'result.json'), 'utf8')) as { test_accuracy: number };
    assert.ok(Math.abs(torchAccuracy - 100 * ours.test_accuracy) <= 0.2, `test accuracy ${torchAccuracy}% against ${(100 * ours.test_accuracy).toFixed(2)}%`);
    process.stdout.write(`# export --to pytorch | ${name} | 29 steps | max rel. difference ${rel.toExponential(2)} | test accuracy ${torchAccuracy.toFixed(2)}% vs ${(100 * ours.test_accuracy).toFixed(2)}%\n`);
  });
}
