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
import { join } from 'node:path';
import { requires } from '../helpers/requires.js';
import { makeTempDir, removeDir } from '../helpers/cli.js';
import { trainExportRun } from '../helpers/exported-run.js';

let tmp: string;
before(async () => { tmp = await makeTempDir('ridgeline-export-torch-'); });
after(async () => { await removeDir(tmp); });

const CASES: [string, string[]][] = [
  ['mlp-momentum-l2', ['--hidden', '32', '--optimizer', 'momentum', '--lr', '0.05', '--l2', '1e-3']],
  ['cnn-bn-pytorch-wd', ['--arch', 'conv:4x3p1,bn,relu,pool:2,conv:8x3s2p1,bn,relu,gap,dense:10', '--l2', 'pytorch-sgd:weight_decay=5e-4', '--decay-params', 'framework']],
  ['mlp-adamw-cosine', ['--hidden', '32,16', '--optimizer', 'adamw', '--lr', '0.002', '--schedule', 'cosine', '--decay', '0.05']],
];

for (const [name, options] of CASES) {
  test(`the PyTorch script of a run (${name}) reaches ridgeline's weights`, requires('python3-torch'), async () => {
    const r = await trainExportRun(join(tmp, name), 'pytorch', options);
    assert.equal(r.steps, 29);
    assert.ok(r.rel < 1e-4, `weights differ by ${r.rel.toExponential(2)} relative`);
    assert.ok(Math.abs(r.accuracy - r.ours) <= 0.2, `test accuracy ${r.accuracy}% against ${r.ours.toFixed(2)}%`);
    process.stdout.write(`# export --to pytorch | ${name} | 29 steps | max rel. difference ${r.rel.toExponential(2)} | test accuracy ${r.accuracy.toFixed(2)}% vs ${r.ours.toFixed(2)}%\n`);
  });
}
