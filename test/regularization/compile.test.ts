/**
 * The regularization compiler: no silent stacking of a default L2 with a decay, muP applied by
 * the library, and the decay each framework's coefficient gives, checked where nothing else
 * moves a weight: with all-zero inputs the first layer gets no data gradient, so one epoch of S
 * steps leaves each of its weights multiplied by exactly (1 − δ)^S. The expected ratios are the
 * frameworks' own update rules (PyTorch AdamW: w·(1 − η·c) per step; tf-addons SGDW: w − c·w;
 * Keras 3: w − w·c·η), to 6 digits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRegularization, DEFAULT_L2, type RegularizationOptions } from '../../src/regularization/compile.js';
import { regularizationTerm } from '../../src/regularization/plan.js';
import { mlpSpec } from '../../src/nn/spec.js';
import { createDataset } from '../../src/data/dataset.js';
import { Trainer } from '../../src/train/trainer.js';
import { jsBackend } from '../../src/kernels/js/index.js';
import type { OptimizerName } from '../../src/optim/recipes.js';
import { ConfigError } from '../../src/errors.js';

const N = 40, B = 4, S = N / B;
const spec = mlpSpec(784, [16], 10);
const run = { spec, trainCount: N, batch: B, lr: 0.001, epochs: 1 };

/** dense1.weight after one epoch on zero inputs, divided by its initial value, element by element. */
async function firstLayerRatios(options: Omit<RegularizationOptions, 'decayParams'>, lr: number): Promise<number[]> {
  const reg = compileRegularization({ decayParams: 'weights', ...options }, { ...run, lr });
  const labels = Int32Array.from({ length: N }, (_, i) => i % 10);
  const data = createDataset(new Float32Array(N * 784), labels, [784], 10);
  const trainer = new Trainer({
    model: spec, regularization: reg.terms, batchSize: B, epochs: 1, seed: 3,
    optimizer: { name: options.optimizer as OptimizerName, schedule: { type: 'constant', lr }, momentum: 0.9 },
  }, jsBackend, data);
  const w = trainer.model.params.find((p) => p.name === 'dense1.weight')!;
  const before = w.value.slice();
  await trainer.fit();
  return Array.from(w.value, (v, i) => v / before[i]).filter((r, i) => before[i] !== 0 && Number.isFinite(r));
}

const sixDigits = (ratios: number[], expected: number, what: string) => {
  for (const r of ratios) assert.ok(Math.abs(r - expected) < 2e-6, `${what}: ratio ${r} against ${expected}`);
  assert.ok(ratios.length > 100, `${what}: ${ratios.length} weights compared`);
  assert.equal((ratios.reduce((a, b) => a + b, 0) / ratios.length).toFixed(6), expected.toFixed(6), what);
};

test('PyTorch AdamW (the adamw default c = 0.01, η = 1e-3): (1 − 1e-5)^10 = 0.999900; no default L2 stacked on it', async () => {
  const reg = compileRegularization({ optimizer: 'adamw', decayParams: 'weights' }, run);
  assert.deepEqual(reg.terms.map((t) => t.kind), ['decoupled'], 'no coupled term unless asked for');
  sixDigits(await firstLayerRatios({ optimizer: 'adamw' }, 1e-3), Math.pow(1 - 1e-5, S), 'pytorch-adamw');
  // Asked for explicitly, both apply, and the notes say they stack.
  const both = compileRegularization({ optimizer: 'adamw', decayParams: 'weights', l2: '1e-4' }, run);
  assert.deepEqual(both.terms.map((t) => t.kind), ['coupled', 'decoupled']);
  assert.ok(both.notes.some((n) => /both options\.l2 1e-4 .* and options\.decay .* apply: they stack/.test(n)), both.notes.join('; '));
  const stacked = await firstLayerRatios({ optimizer: 'adamw', l2: '1e-4' }, 1e-3);
  assert.ok(stacked.some((r) => Math.abs(r - Math.pow(1 - 1e-5, S)) > 1e-3), 'the coupled term, normalized by Adam, moves the weights far more');
});

test('tf-addons SGDW weight_decay = 0.01: δ = c per step whatever η, (0.99)^10 = 0.904382', async () => {
  sixDigits(await firstLayerRatios({ optimizer: 'sgd', decay: 'tfa-sgdw:weight_decay=0.01' }, 0.1), 0.904382, 'tfa-sgdw');
  sixDigits(await firstLayerRatios({ optimizer: 'momentum', decay: 'tfa-sgdw:weight_decay=0.01' }, 0.05), 0.904382, 'tfa-sgdw with momentum (decay outside the buffer)');
});

test('Keras 3 SGD(weight_decay = 0.004) at η = 0.05: δ = η·c = 2e-4, (1 − 2e-4)^10 = 0.998002', async () => {
  sixDigits(await firstLayerRatios({ optimizer: 'momentum', decay: 'keras3:weight_decay=0.004' }, 0.05), Math.pow(1 - 2e-4, S), 'keras3');
});

test('the default λ_E applies only when nothing else regularizes the run', () => {
  const plain = compileRegularization({ optimizer: 'momentum', decayParams: 'weights' }, run);
  assert.deepEqual(plain.terms.map((t) => [t.kind, t.value]), [['coupled', Number(DEFAULT_L2)]]);
  assert.deepEqual(compileRegularization({ optimizer: 'momentum', decayParams: 'weights', decay: 'keras3:weight_decay=0.004' }, run).terms.map((t) => t.kind), ['decoupled']);
  assert.deepEqual(compileRegularization({ optimizer: 'momentum', decayParams: 'weights', l2: '0' }, run).terms, []);
});

test('muP through the library: hidden matrices get lr/m and decay ×m; a bare term refuses muP', () => {
  const deep = mlpSpec(784, [32, 32], 10);
  const reg = compileRegularization({ optimizer: 'adamw', decayParams: 'weights', decay: 'mup-adamw:weight_decay=0.1', widthMult: 4 }, { ...run, spec: deep });
  assert.deepEqual(reg.lrScale, { 'dense2.weight': 0.25 });
  assert.deepEqual(reg.terms[0].multipliers, { 'dense2.weight': 4 });
  assert.throws(() => compileRegularization({ optimizer: 'adamw', decayParams: 'weights', decay: 'mup-adamw:weight_decay=0.1' }, { ...run, spec: deep }), /muP needs the width multiplier m \(options\.widthMult\)/);
  assert.throws(() => regularizationTerm('mup-adamw:weight_decay=0.1'), (e: unknown) => e instanceof ConfigError && /compileRegularization/.test(e.message));
  // Library errors name the API field (the CLI prints its flags: test/cli/flags.test.ts).
  assert.throws(() => compileRegularization({ optimizer: 'sgd', decayParams: 'weights', l2: 'pytorch-adamw:weight_decay=0.1' }, run), /^ConfigError: options\.l2: pytorch-adamw is a decoupled decay .*give it as options\.decay$/);
});
