/**
 * The study's machinery: trial ids and shards, the store's torn-line recovery and merge, the
 * optimum fit on synthetic curves with a known minimum, and config validation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, appendFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStudyConfig, logGrid, type StudyConfig } from '../../src/study/config.js';
import { preset } from '../../src/study/presets.js';
import { expandTrials, settingsAt, shardTrials, trialId } from '../../src/study/trials.js';
import { trialModel } from '../../src/study/model.js';
import { coefficientsAt } from '../../src/study/refine.js';
import { normalizeRecord } from '../../src/study/records.js';
import { parseArch } from '../../src/nn/spec.js';
import { appendResult, dropTornLine, mergeResults, readStore } from '../../src/node/study-store.js';
import type { TrialResult } from '../../src/study/run-trial.js';
import { ConfigError, DataError } from '../../src/errors.js';

const config = (): StudyConfig => preset('width', false)[0];
const SAMPLE = { label: 'sample', classes: 10 };
/** The coarse grid only, so the number of trials is fixed. */
const coarseOnly = (c: StudyConfig): StudyConfig => ({ ...c, refine: { octaves: [], extend: 0 } });

test('trial ids: stable, distinct per config, independent of key order', () => {
  const trials = expandTrials(config(), SAMPLE);
  assert.equal(trials.length, 4 * 7 * 2, 'before any result, the coarse grid');
  assert.equal(new Set(trials.map((t) => t.id)).size, trials.length);
  assert.deepEqual(expandTrials(config(), SAMPLE).map((t) => t.id), trials.map((t) => t.id));
  assert.notEqual(expandTrials(config(), { ...SAMPLE, label: 'other data' })[0].id, trials[0].id);
  assert.equal(trialId({ a: 1, b: [2, 3] }), trialId({ b: [2, 3], a: 1 }));
  assert.match(trials[0].id, /^[0-9a-f]{16}$/);
  assert.ok(trials.every((t) => t.edition === 2 && t.schedule === 'cosine'));
});

test('trial models: width, depth and norm on an MLP and on any --arch network', () => {
  const mlp = preset('width', false)[0].base;
  assert.equal(trialModel(mlp, 'width', 32, 10).arch, 'dense:32,relu,dense:10');
  assert.equal(trialModel({ ...mlp, hidden: [64, 64] }, 'depth', 3, 10).arch, 'dense:64,relu,dense:64,relu,dense:64,relu,dense:10');
  assert.equal(trialModel(mlp, 'norm', 'batchnorm', 10).arch, 'dense:64,bn,relu,dense:10');
  assert.equal(trialModel(mlp, 'norm', 'layernorm', 10).arch, 'dense:64,ln,relu,dense:10');
  assert.equal(trialModel(mlp, 'norm', 'none', 10).arch, 'dense:64,relu,dense:10');
  const cnn = { ...mlp, hidden: undefined, arch: 'conv:16x3p1,bn,relu,{conv:16x3p1,relu},pool:2,flatten,dense:32,relu,dense:10' };
  // Width multiplies every conv's filters and every hidden dense layer, never the logits.
  assert.equal(trialModel(cnn, 'width', 0.5, 10).arch, 'conv:8x3p1,bn,relu,conv:8x3p1,relu,pool:2,flatten,dense:16,relu,dense:10');
  assert.equal(trialModel(cnn, 'depth', 3, 10).arch, 'conv:16x3p1,bn,relu,conv:16x3p1,relu,conv:16x3p1,relu,conv:16x3p1,relu,pool:2,flatten,dense:32,relu,dense:10');
  assert.equal(trialModel(cnn, 'norm', 'layernorm', 10).arch, 'conv:16x3p1,ln,relu,conv:16x3p1,ln,relu,pool:2,flatten,dense:32,ln,relu,dense:10');
  assert.equal(trialModel(cnn, 'norm', 'none', 10).arch, 'conv:16x3p1,relu,conv:16x3p1,relu,pool:2,flatten,dense:32,relu,dense:10');
  // muP: m from the base width (MLP) or the multiplier itself (arch).
  assert.equal(trialModel({ ...mlp, optimizer: 'adamw', mupBaseWidth: 16 }, 'width', 64, 10).mupWidthMult, 4);
  assert.equal(trialModel({ ...cnn, optimizer: 'adamw', mupBaseWidth: 1 }, 'width', 2, 10).mupWidthMult, 2);
  assert.throws(() => trialModel({ ...cnn, arch: '{conv:8x3,relu,{dense:10}' }, 'depth', 2, 10), /one pair of braces/);
  // Every preset's every model parses against Fashion-MNIST's shape.
  for (const full of [false, true]) {
    for (const c of preset('all', full)) for (const v of c.values) assert.doesNotThrow(() => parseArch(settingsAt(c, v, 10).arch, [1, 28, 28], 10), `${c.name} ${v}`);
  }
});

test('axis settings: η follows B on batch-scaled, the tpp axis sets width and rows, epochs set the budget', () => {
  const scaled = preset('batch-scaled', true)[0];
  assert.equal(settingsAt(scaled, 512, 10).lr, 0.2);
  assert.equal(settingsAt(scaled, 32, 10).lr, 0.0125);
  assert.equal(settingsAt(preset('batch', true)[0], 512, 10).lr, 0.05);
  const tpp = settingsAt(preset('adamw-tpp', true)[0], '512x12500', 10);
  assert.equal(tpp.trainSize, 12500);
  assert.equal(tpp.arch, 'dense:512,relu,dense:512,relu,dense:10');
  assert.equal(settingsAt(preset('epochs', true)[0], 80, 10).epochs, 80);
  assert.equal(expandTrials(preset('epochs', true)[0], SAMPLE).filter((t) => t.value === 80)[0].epochs, 80);
  assert.equal(expandTrials(preset('data-steps', true)[0], SAMPLE)[0].steps, 2400);
});

test('refinement: edges extend the grid, then half-octave points around the minimum; nothing before every seed is in', () => {
  const coarse = logGrid({ min: 1e-5, max: 1e-1, points: 9 });
  const refine = { octaves: [-1, -0.5, 0.5, 1], extend: 2 };
  const seeds = [1, 2];
  const result = (ce: number) => ({ final_val_ce: ce, diverged: false }) as TrialResult;
  const curve = (opt: number) => (c: number) => result(0.4 + 0.01 * (Math.log2(c) - Math.log2(opt)) ** 2);
  // Nothing finished: the coarse grid.
  assert.deepEqual(coefficientsAt(coarse, refine, 'final-ce', seeds, () => undefined), coarse);
  // One seed missing at one point: still the coarse grid.
  assert.deepEqual(coefficientsAt(coarse, refine, 'final-ce', seeds, (c, s) => (c === coarse[3] && s === 2 ? undefined : curve(1e-3)(c))), coarse);
  // An interior minimum at 1e-3: four points around it.
  const inner = coefficientsAt(coarse, refine, 'final-ce', seeds, (c) => curve(1.1e-3)(c));
  assert.deepEqual(inner.filter((c) => !coarse.includes(c)), [0.0005, 0.000707107, 0.00141421, 0.002]);
  // A minimum below the grid: one coarse step added, then (once it is done) another, then the fine points.
  const low = curve(2e-7);
  const first = coefficientsAt(coarse, refine, 'final-ce', seeds, (c) => (coarse.includes(c) ? low(c) : undefined));
  assert.deepEqual(first.slice(0, 2), [3.16228e-6, 1e-5]);
  const second = coefficientsAt(coarse, refine, 'final-ce', seeds, (c) => (first.includes(c) ? low(c) : undefined));
  assert.deepEqual(second.slice(0, 3), [1e-6, 3.16228e-6, 1e-5]);
  const third = coefficientsAt(coarse, refine, 'final-ce', seeds, (c) => (second.includes(c) ? low(c) : undefined));
  assert.equal(third.length, second.length + 4, 'after two extensions, the fine points around the edge minimum');
  assert.ok(third.includes(2e-6) && third.includes(1.41421e-6));
  // The metric decides the centre: error rate minimum elsewhere than CE.
  const mixed = (c: number) => ({ ...curve(1e-3)(c), final_val_accuracy: 1 - (0.1 + 0.01 * (Math.log2(c) - Math.log2(1e-2)) ** 2) }) as TrialResult;
  assert.ok(coefficientsAt(coarse, refine, 'final-error', seeds, mixed).includes(0.0141421));
});

test('a first-edition record reads as the second edition: arch from hidden, P counted, edition 1', () => {
  const old = { id: 'x', trial: { id: 'x', study: 'w', axis: 'width', value: 64, seed: 1, kind: 'coupled', coefficient: 1e-4, hidden: [64, 64], norm: 'batchnorm', optimizer: 'momentum', lr: 0.05, momentum: 0.9, batch: 128, trainSize: 7500, validation: 10000, epochs: 40, data: 'd' } } as unknown as TrialResult;
  const r = normalizeRecord(old);
  assert.equal(r.trial.arch, 'dense:64,bn,relu,dense:64,bn,relu,dense:10');
  assert.equal(r.trial.edition, 1);
  assert.equal(r.decayed_params, 784 * 64 + 64 * 64 + 64 * 10);
  assert.ok(!('hidden' in r.trial));
  const current = expandTrials(config(), SAMPLE)[0];
  const fresh = { id: current.id, trial: current } as TrialResult;
  assert.equal(normalizeRecord(fresh), fresh);
});

test('shards partition the grid exactly: disjoint, and their union is every trial', () => {
  const trials = expandTrials(config(), SAMPLE);
  for (const n of [1, 3, 16, 100]) {
    const parts = Array.from({ length: n }, (_, i) => shardTrials(trials, `${i + 1}/${n}`));
    const ids = parts.flat().map((t) => t.id);
    assert.equal(ids.length, trials.length, `n=${n}`);
    assert.equal(new Set(ids).size, trials.length, `n=${n}`);
    assert.ok(Math.max(...parts.map((p) => p.length)) - Math.min(...parts.map((p) => p.length)) <= 1, `balanced for n=${n}`);
  }
  for (const bad of ['0/4', '5/4', '1/0', 'a/b', '2']) assert.throws(() => shardTrials(trials, bad), ConfigError, bad);
  // Each shard runs its trials in the grid's order, scale by scale, so curves finish one scale
  // at a time: a shard's trials never go back to an earlier scale value.
  const scaleIndex = new Map(trials.map((t) => [t.id, config().values.indexOf(t.value as never)]));
  for (const part of [shardTrials(trials, '1/2'), shardTrials(trials, '2/2')]) {
    const order = part.map((t) => scaleIndex.get(t.id)!);
    assert.deepEqual(order, [...order].sort((a, b) => a - b));
  }
});

function fakeResult(id: string, coefficient = 1e-4, seed = 1, valCe = 0.5): TrialResult {
  const trial = { ...expandTrials(config(), SAMPLE)[0], id, coefficient, seed };
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

test('config validation points at the bad field', () => {
  const good = JSON.parse(JSON.stringify(config()));
  assert.doesNotThrow(() => parseStudyConfig(good, 'my.json'));
  assert.throws(() => parseStudyConfig({ ...good, axis: 'colour' }, 'my.json'), /my\.json: axis:/);
  assert.throws(() => parseStudyConfig({ ...good, lambda: { min: 1, max: 0.1, points: 5 } }, 'my.json'), /lambda: max must be larger than min/);
  assert.throws(() => parseStudyConfig({ ...good, base: { ...good.base, batch: -1 } }, 'my.json'), /base\.batch/);
  assert.throws(() => parseStudyConfig({ ...good, budget: {} }, 'my.json'), /budget: give exactly one of epochs or steps/);
  assert.throws(() => parseStudyConfig({ ...good, values: ['adam'] }, 'my.json'), /values\.0: axis 'width' takes numbers/);
  assert.throws(() => preset('nope', false), /unknown preset 'nope'/);
  // Strict: a misspelled key is an error naming it, not a silent default.
  assert.throws(() => parseStudyConfig({ ...good, seed: [1] }, 'my.json'), /my\.json: .*seed/);
  assert.throws(() => parseStudyConfig({ ...good, base: { ...good.base, adamlr: 1e-3 } }, 'my.json'), /base.*adamlr/);
  assert.throws(() => parseStudyConfig({ ...good, budget: { epoch: 3 } }, 'my.json'), /budget.*epoch/);
  // Duplicates would give two trials one id: refused, naming the value.
  assert.throws(() => parseStudyConfig({ ...good, values: [16, 32, 16] }, 'my.json'), /values\.2: 16 repeats values\.0/);
  assert.throws(() => parseStudyConfig({ ...good, seeds: [1, 2, 1] }, 'my.json'), /seeds\.2: seed 1 repeats seeds\.0/);
  assert.throws(() => parseStudyConfig({ ...good, lambda: { min: 1e-4, max: 1.00001e-4, points: 9 } }, 'my.json'), /repeat after rounding/);
  assert.throws(() => parseStudyConfig({ ...good, base: { ...good.base, hidden: undefined } }, 'my.json'), /exactly one of hidden or arch/);
  assert.throws(() => parseStudyConfig({ ...good, axis: 'depth', values: [1, 2], base: { ...good.base, hidden: undefined, arch: 'dense:8,relu,dense:10' } }, 'my.json'), /braces/);
  assert.throws(() => parseStudyConfig({ ...good, axis: 'tpp', values: ['256x'] }, 'my.json'), /WIDTHxROWS/);
  assert.throws(() => parseStudyConfig({ ...good, base: { ...good.base, lrScaling: 'linear' } }, 'my.json'), /lrScaling applies to the batch axis/);
});
