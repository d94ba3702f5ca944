/**
 * `export --run DIR --to sklearn`, verified by running the script with Debian's scikit-learn
 * (1.2): MLPClassifier driven by partial_fit per batch on ridgeline's rows in ridgeline's order,
 * from the run's initial weights, alpha converted per batch size. After the run's 29 steps the
 * weights equal ridgeline's within 1e-4 relative (norm-wise over the model; sklearn computes in
 * float64, ridgeline in float32) and the test accuracies agree. Cases: SGD with momentum and the
 * seed's λ_E (the short last batch of 16 needs its own alpha), Adam with sklearn's own alpha and
 * tanh (ridgeline's ε placement emulated), Nesterov with warm-up and cosine (the schedule and the
 * velocity emulated). And the runs sklearn cannot express are refused, each with the reason.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCoefficient } from '../../src/regularization/conventions.js';
import { convert } from '../../src/regularization/convert.js';
import { requires } from '../helpers/requires.js';
import { assertSuccess, assertUserError, makeTempDir, removeDir, runCli } from '../helpers/cli.js';
import { trainExportRun } from '../helpers/exported-run.js';

let tmp: string;
before(async () => { tmp = await makeTempDir('ridgeline-export-sklearn-'); });
after(async () => { await removeDir(tmp); });

const CASES: [string, string[]][] = [
  ['mlp-momentum-l2', ['--hidden', '32', '--optimizer', 'momentum', '--lr', '0.05', '--l2', '1e-3']],
  ['mlp-adam-tanh-alpha', ['--hidden', '32,16', '--activation', 'tanh', '--optimizer', 'adam', '--lr', '0.002', '--l2', 'sklearn-mlp:alpha=0.5']],
  ['mlp-nesterov-warmup-cosine', ['--hidden', '32', '--optimizer', 'nesterov', '--lr', '0.05', '--schedule', 'cosine', '--warmup-steps', '5', '--l2', '5e-4']],
];

/** The ALPHA table the script sets per batch size. */
function alphaTable(script: string): Map<number, number> {
  const m = /^ALPHA = \{(.*)\}$/m.exec(readFileSync(script, 'utf8'));
  assert.ok(m, 'the script has no ALPHA table');
  return new Map(m[1].split(', ').map((kv) => kv.split(': ').map(Number) as [number, number]));
}

for (const [name, options] of CASES) {
  test(`the scikit-learn script of a run (${name}) reaches ridgeline's weights`, requires('python3-sklearn'), async () => {
    const r = await trainExportRun(join(tmp, name), 'sklearn', options);
    assert.equal(r.steps, 29);
    assert.ok(r.rel < 1e-4, `weights differ by ${r.rel.toExponential(2)} relative`);
    assert.ok(Math.abs(r.accuracy - r.ours) <= 0.2, `test accuracy ${r.accuracy}% against ${r.ours.toFixed(2)}%`);
    process.stdout.write(`# export --to sklearn | ${name} | 29 steps | max rel. difference ${r.rel.toExponential(2)} | test accuracy ${r.accuracy.toFixed(2)}% vs ${r.ours.toFixed(2)}%\n`);
    if (name === 'mlp-momentum-l2') {
      // 3600 rows in batches of 128: 28 full batches and one of 16, each with alpha = 2·B_step·λ_E.
      const context = { optimizer: 'momentum' as const, momentum: 0.9 };
      const expected = (batch: number) => convert(parseCoefficient('1e-3', 'seed', 'test'), { ...context, batch }, ['sklearn-mlp']).results[0].value;
      assert.deepEqual(alphaTable(r.script), new Map([[128, expected(128)], [16, expected(16)]]));
    }
    if (name === 'mlp-adam-tanh-alpha') assert.deepEqual(alphaTable(r.script), new Map([[128, 0.5], [16, 0.5]]), "sklearn's own alpha is kept at every batch size");
  });
}

test('runs scikit-learn cannot express are refused with the reason', async () => {
  const refused: [string, string[], RegExp][] = [
    ['cnn', ['--arch', 'conv:4x3,relu,flatten,dense:10'], /cannot express layer 1 \(conv:4x3\)/],
    ['biases', ['--hidden', '16', '--decay-params', 'all'], /never decays biases; this run decayed dense1\.bias, dense2\.bias/],
    ['adamw', ['--hidden', '16', '--optimizer', 'adamw', '--decay', '0.01'], /no decoupled weight decay/],
    ['gelu', ['--hidden', '16', '--activation', 'gelu'], /no gelu/],
    ['dampening', ['--hidden', '16', '--optimizer', 'momentum', '--dampening', '0.5'], /no dampening/],
  ];
  await Promise.all(refused.map(async ([name, options, message]) => {
    const run = join(tmp, `refused-${name}`);
    assertSuccess(await runCli(['train', '--epochs', '1', '--backend', 'js', '--out', run, '--quiet', ...options]));
    const r = await runCli(['export', '--run', run, '--to', 'sklearn', '--out', join(run, 'train_sklearn.py')]);
    assertUserError(r, { code: 2, message: ['export --to sklearn', message] });
  }));
});
