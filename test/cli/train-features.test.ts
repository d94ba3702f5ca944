/**
 * What a user of `train` expects beyond the loop: a `--json` start record with the config and
 * the regularization per group, a per-layer model summary, `--early-stop` and `--keep best`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertSuccess, assertUserError, makeTempDir, removeDir, runCli } from '../helpers/cli.js';

let tmp: string;
before(async () => { tmp = await makeTempDir(); });
after(async () => { await removeDir(tmp); });

test('--json starts with a record of the config, the layers and the regularization per group', async () => {
  const r = await runCli(['train', '--epochs', '1', '--hidden', '16', '--json', '--optimizer', 'adamw', '--lr', '0.001']);
  assertSuccess(r);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.type), ['start', 'epoch', 'result']);
  const start = lines[0];
  assert.equal(start.config.batchSize, 128);
  assert.deepEqual(start.layers.map((l: { name: string }) => l.name), ['dense1', 'relu1', 'dense2']);
  assert.deepEqual(start.layers[0].decayed, ['dense1.weight']);
  assert.equal(start.layers[0].params, 784 * 16 + 16);
  const decayed = start.regularization.find((g: { group: string }) => g.group === 'decayed');
  // AdamW's default c = 0.01 at η = 1e-3 and nothing stacked on it: δ = 1e-5, no λ_E.
  assert.equal(decayed.lambdaE, null);
  assert.equal(decayed.decoupled, 0.01);
  assert.ok(Math.abs(decayed.deltaPerStep - 1e-5) < 1e-15);
  assert.ok(start.notes.some((n: string) => /PyTorch's default pytorch-adamw:weight_decay=0.01/.test(n)));
});

test('the start-of-training printout has the per-layer summary', async () => {
  const r = await runCli(['train', '--epochs', '1', '--arch', 'conv:4x3p1,bn,relu,pool:2,flatten,dense:10']);
  assertSuccess(r);
  assert.match(r.stderr, /^ {2}layer +spec +output +parameters +decayed$/m);
  assert.match(r.stderr, /^ {2}conv1 +conv:4x3p1 +4×28×28 +40 +weight$/m);
  assert.match(r.stderr, /^ {2}bn1 +bn +4×28×28 +8 +none$/m);
  assert.match(r.stderr, /^ {2}dense1 +dense:10 +10 +7,850 +weight$/m);
});

test('--early-stop ends the run once validation CE stops improving; --keep best saves that epoch too', async () => {
  // Many epochs at a high learning rate on 400 validation rows: the validation CE turns up.
  const out = join(tmp, 'es');
  const r = await runCli(['train', '--epochs', '40', '--hidden', '64', '--lr', '0.2', '--early-stop', '2', '--keep', 'best', '--out', out]);
  assertSuccess(r);
  const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8'));
  assert.equal(result.stopped_early, true);
  assert.ok(result.epochs < 40);
  assert.equal(result.epochs, result.best_epoch + 2);
  assert.ok(existsSync(join(out, 'model-best.safetensors')));
  const best = await runCli(['evaluate', '--model', join(out, 'model-best.safetensors'), '--json']);
  assertSuccess(best);
  assert.match(r.stderr, /early stop: no better validation CE for 2 epochs \(best: epoch \d+\)/);
  assertUserError(await runCli(['train', '--epochs', '2', '--validation', '0', '--early-stop', '2']), { code: 2, message: ['--early-stop needs validation rows'] });
});
