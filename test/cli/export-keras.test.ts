/**
 * `export --run DIR --to keras`: Keras is not installable here (no Debian package; only npm and
 * Debian are reachable), so the Keras 3 script is emitted and syntax-checked only, and says so.
 * What is checked: `python3 -m py_compile` accepts it, and the coefficients in it are the
 * library's converted values: coupled λ_E as `regularizers.L2` on exactly the decayed tensors
 * (keras:l2), AdamW's c as the optimizer's `weight_decay` (keras3:weight_decay) with the tensors
 * ridgeline did not decay excluded. A CNN is refused with the reason.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCoefficient } from '../../src/regularization/conventions.js';
import { convert, type ConvertContext } from '../../src/regularization/convert.js';
import { requires } from '../helpers/requires.js';
import { assertSuccess, assertUserError, makeTempDir, removeDir, runCli } from '../helpers/cli.js';

let tmp: string;
before(async () => { tmp = await makeTempDir('ridgeline-export-keras-'); });
after(async () => { await removeDir(tmp); });

async function exportKeras(name: string, options: string[]): Promise<string> {
  const run = join(tmp, name);
  assertSuccess(await runCli(['train', '--epochs', '1', '--backend', 'js', '--out', run, '--quiet', ...options]));
  const script = join(run, 'train_keras.py');
  assertSuccess(await runCli(['export', '--run', run, '--to', 'keras', '--out', script]));
  execFileSync('/usr/bin/python3', ['-m', 'py_compile', script], { env: { ...process.env, PYTHONPYCACHEPREFIX: join(tmp, 'pycache') } });
  const text = readFileSync(script, 'utf8');
  assert.match(text, /EMITTED AND SYNTAX-CHECKED ONLY: Keras is not installable/);
  return text;
}

const converted = (given: string, defaultId: string, to: string, context: ConvertContext) =>
  convert(parseCoefficient(given, defaultId, 'test'), context, [to]).results[0].value;

test('the Keras script of a momentum run with coupled L2 compiles and carries keras:l2 on the weights only', requires('python3'), async () => {
  const text = await exportKeras('mlp-momentum-l2', ['--hidden', '32,16', '--optimizer', 'momentum', '--lr', '0.05', '--l2', '1e-3']);
  const expected = converted('1e-3', 'seed', 'keras', { optimizer: 'momentum', momentum: 0.9 });
  const dense = [...text.matchAll(/layers\.Dense\((\d+), name="(dense\d)", kernel_regularizer=(.*?), bias_regularizer=(.*?)\)/g)];
  assert.deepEqual(dense.map((m) => [m[1], m[2]]), [['32', 'dense1'], ['16', 'dense2'], ['10', 'dense3']]);
  for (const m of dense) {
    assert.equal(m[3], `regularizers.L2(${expected})`, `${m[2]}'s kernel`);
    assert.equal(m[4], 'None', `${m[2]}'s bias is not decayed`);
  }
  assert.match(text, /opt = keras\.optimizers\.SGD\(learning_rate=LR, momentum=0\.9\)$/m, 'no weight_decay beside the regularizers');
});

test('the Keras script of an AdamW run compiles and carries keras3:weight_decay, biases excluded', requires('python3'), async () => {
  const text = await exportKeras('mlp-adamw', ['--hidden', '32', '--optimizer', 'adamw', '--lr', '0.002', '--decay', '0.05']);
  const expected = converted('0.05', 'pytorch-adamw', 'keras3', { optimizer: 'adamw' });
  const m = /opt = keras\.optimizers\.AdamW\(.*weight_decay=([\d.e+-]+)\)$/m.exec(text);
  assert.ok(m, 'no AdamW with weight_decay');
  assert.equal(Number(m[1]), expected);
  assert.match(text, /^UNDECAYED = \["dense1\.bias","dense2\.bias"\]$/m);
  assert.doesNotMatch(text, /regularizers\.L2\(/, 'no coupled L2 in an AdamW run');
});

test('a CNN is refused by the Keras export with the reason', async () => {
  const run = join(tmp, 'cnn');
  assertSuccess(await runCli(['train', '--epochs', '1', '--backend', 'js', '--out', run, '--quiet', '--arch', 'conv:4x3,relu,flatten,dense:10']));
  assertUserError(await runCli(['export', '--run', run, '--to', 'keras', '--out', join(run, 'k.py')]),
    { code: 2, message: ['export --to keras', /cannot express layer 1 \(conv:4x3\)/] });
});
