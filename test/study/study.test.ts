/**
 * The study's machinery: trial ids and shards, the store's torn-line recovery and merge, the
 * optimum fit on synthetic curves with a known minimum, and config validation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, appendFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStudyConfig, preset, logGrid, type StudyConfig } from '../../src/study/config.js';
import { expandTrials, shardTrials, trialId } from '../../src/study/trials.js';
import { fitMinimum, analyze } from '../../src/study/analysis.js';
import { appendResult, dropTornLine, mergeResults, readStore } from '../../src/node/study-store.js';
import type { TrialResult } from '../../src/study/run-trial.js';
import { ConfigError, DataError } from '../../src/errors.js';

const config = (): StudyConfig => preset('width', false)[0];

test('trial ids: stable, distinct per config, independent of key order', () => {
  const trials = expandTrials(config(), 'sample');
  assert.equal(trials.length, 4 * 7 * 2);
  assert.equal(new Set(trials.map((t) => t.id)).size, trials.length);
  assert.deepEqual(expandTrials(config(), 'sample').map((t) => t.id), trials.map((t) => t.id));
  assert.notEqual(expandTrials(config(), 'other data')[0].id, trials[0].id);
  assert.equal(trialId({ a: 1, b: [2, 3] }), trialId({ b: [2, 3], a: 1 }));
  assert.match(trials[0].id, /^[0-9a-f]{16}$/);
});

test('the norm axis: trials carry batchnorm/layernorm, none leaves the trial (and its id) as before', async () => {
  const norm = preset('norm', false)[0];
  assert.deepEqual(norm.values, ['none', 'batchnorm', 'layernorm']);
  const trials = expandTrials(norm, 'sample');
  assert.deepEqual([...new Set(trials.map((t) => t.norm ?? 'none'))], ['none', 'batchnorm', 'layernorm']);
  const plain = trials.find((t) => t.value === 'none')!;
  assert.ok(!('norm' in plain), 'no norm field when there is no normalization');
  // The same settings as a width study's base point, up to the study name and axis fields.
  const { mlpSpec } = await import('../../src/nn/spec.js');
  const bn = mlpSpec(784, [64], 10, 'relu', 0, 'batchnorm');
  assert.deepEqual(bn.layers.map((l) => l.type), ['dense', 'batchnorm', 'relu', 'dense']);
  assert.throws(() => parseStudyConfig({ ...norm, values: ['groupnorm'] }, 'x.json'), /values\.0: axis 'norm' takes one of none, batchnorm, layernorm/);
  assert.throws(() => parseStudyConfig({ ...norm, values: [64] }, 'x.json'), /axis 'norm' takes one of/);
});

test('shards partition the grid exactly: disjoint, and their union is every trial', () => {
  const trials = expandTrials(config(), 'sample');
  for (const n of [1, 3, 16, 100]) {
    const parts = Array.from({ length: n }, (_, i) => shardTrials(trials, `${i + 1}/${n}`));
    const ids = parts.flat().map((t) => t.id);
    assert.equal(ids.length, trials.length, `n=${n}`);
    assert.equal(new Set(ids).size, trials.length, `n=${n}`);
    assert.ok(Math.max(...parts.map((p) => p.length)) - Math.min(...parts.map((p) => p.length)) <= 1, `balanced for n=${n}`);
  }
  for (const bad of ['0/4', '5/4', '1/0', 'a/b', '2']) assert.throws(() => shardTrials(trials, bad), ConfigError, bad);
});

function fakeResult(id: string, coefficient = 1e-4, seed = 1, valCe = 0.5): TrialResult {
  const trial = { ...expandTrials(config(), 'sample')[0], id, coefficient, seed };
  return {
    id, trial, final_val_ce: valCe, final_val_accuracy: 0.8, best_val_ce: valCe, best_val_accuracy: 0.8, best_epoch: 1,
    test_accuracy: 0.8, test_ce: valCe, train_loss: 0.4, penalty: 0.01, weight_norm_sq: 10, train_count: 1000,
    epochs: 1, steps: 10, seconds: 0.1, diverged: false,
  };
}

test('store: appended lines read back; a torn last line is reported, dropped, and never glues to the next', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ridgeline-store-'));
  try {
    const path = join(dir, 'results.jsonl');
    assert.deepEqual(readStore(path), { results: [], tornLine: null });
    appendResult(path, fakeResult('a'));
    appendResult(path, fakeResult('b'));
    appendFileSync(path, JSON.stringify(fakeResult('c')).slice(0, 40)); // a write cut short by kill -9
    const torn = readStore(path);
    assert.deepEqual(torn.results.map((r) => r.id), ['a', 'b']);
    assert.ok(torn.tornLine?.startsWith('{"id":"c"'));
    dropTornLine(path);
    appendResult(path, fakeResult('c'));
    const fixed = readStore(path);
    assert.deepEqual(fixed.results.map((r) => r.id), ['a', 'b', 'c']);
    assert.equal(fixed.tornLine, null);
    // A bad line in the middle is not a torn write: it is an error, not silently dropped.
    writeFileSync(path, `${JSON.stringify(fakeResult('a'))}\nnot json\n${JSON.stringify(fakeResult('b'))}\n`);
    assert.throws(() => readStore(path), DataError);
    assert.ok(readFileSync(path, 'utf8').includes('not json'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('merge: union of stores, one result per trial id', () => {
  const merged = mergeResults([[fakeResult('a'), fakeResult('b')], [fakeResult('b'), fakeResult('c')], []]);
  assert.deepEqual(merged.map((r) => r.id), ['a', 'b', 'c']);
});

test('fit: a parabola in log2 λ recovers its vertex between grid points', () => {
  const grid = logGrid({ min: 1e-6, max: 1e-2, points: 9 }).map(Math.log2);
  for (const truth of [-15.3, -12.0, -10.7]) {
    const y = grid.map((x) => 0.3 + 0.01 * (x - truth) ** 2);
    const fit = fitMinimum(grid, y);
    assert.ok(Math.abs(fit.x - truth) < 1e-9, `vertex ${fit.x} vs ${truth}`);
    assert.equal(fit.atEdge, false);
    assert.ok(Math.abs(fit.y - 0.3) < 1e-12);
  }
  // Minimum at the edge: reported as such, at the grid point.
  const edge = fitMinimum(grid, grid.map((x) => x));
  assert.equal(edge.atEdge, true);
  assert.equal(edge.x, grid[0]);
});

test('analysis: optimum and movement recovered from synthetic results with a known law', () => {
  // The true optimum λ* = 1e-4 · (width/64)^(-1): the seed's λ_E moves one octave down per
  // doubling of width; per-weight c = λ_E·P stays put (P ∝ width for one hidden layer).
  const c = config();
  const trials = expandTrials(c, 'sample');
  const results = trials.map((t) => {
    const best = Math.log2(1e-4 * (64 / (t.value as number)));
    const noise = (t.seed === 1 ? 1 : -1) * 0.001;
    return { ...fakeResult(t.id, t.coefficient, t.seed, 0.4 + 0.02 * (Math.log2(t.coefficient) - best) ** 2 + noise), trial: t };
  });
  const [a] = analyze(results);
  assert.equal(a.axis, 'width');
  for (const o of a.optima) {
    const expected = 1e-4 * (64 / (o.value as number));
    assert.ok(Math.abs(Math.log2(o.optimum / expected)) < 0.05, `width ${o.value}: ${o.optimum} vs ${expected}`);
  }
  const seed = a.movements.find((m) => m.convention === 'seed')!;
  assert.ok(Math.abs(seed.slope + 1) < 0.05, `seed slope ${seed.slope}`);
  assert.equal(seed.transfers, false);
  const perWeight = a.movements.find((m) => m.convention === 'per-weight')!;
  assert.ok(Math.abs(perWeight.slope) < 0.1, `per-weight slope ${perWeight.slope}`);
  assert.equal(perWeight.transfers, true);
});

test('config validation points at the bad field', () => {
  const good = JSON.parse(JSON.stringify(config()));
  assert.doesNotThrow(() => parseStudyConfig(good, 'my.json'));
  assert.throws(() => parseStudyConfig({ ...good, axis: 'colour' }, 'my.json'), /my\.json: axis:/);
  assert.throws(() => parseStudyConfig({ ...good, lambda: { min: 1, max: 0.1, points: 5 } }, 'my.json'), /lambda: max must be larger than min/);
  assert.throws(() => parseStudyConfig({ ...good, base: { ...good.base, batch: -1 } }, 'my.json'), /base\.batch/);
  assert.throws(() => parseStudyConfig({ ...good, budget: {} }, 'my.json'), /budget: give exactly one of epochs or steps/);
  assert.throws(() => parseStudyConfig({ ...good, values: ['adam'] }, 'my.json'), /values\.0: axis 'width' takes numbers/);
  assert.throws(() => preset('nope', false), /unknown preset 'nope'/);
});
