/**
 * The bench's arithmetic, without running a benchmark: the statistics of interleaved pairs,
 * one row from several runs, the PyTorch correctness check and "PyTorch best", the PyTorch
 * configurations a CPU gets, the model FLOP count, and the batches cut to another size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArch, mlpSpec } from '../src/nn/spec.js';
import { forwardMacs, rebatch, trainFlopsPerSample, type Batches } from '../bench/common.js';
import { pairStats } from '../bench/pairs.js';
import { AVX512_CORETYPE, CHECK_TOLERANCE, checkRun, coreChoices, fastestCorrect, pytorchSystems } from '../bench/peers.js';
import { aggregate, ratiosFromPairs } from '../bench/report.js';
import type { SystemRun } from '../bench/systems.js';

test('pairStats: median, min, max of the per-pair ratios and the pairs that disagreed on the winner', () => {
  const s = pairStats([1.2, 0.9, 1.5, 1.1, 1.3]);
  assert.equal(s.median, 1.2);
  assert.equal(s.min, 0.9);
  assert.equal(s.max, 1.5);
  assert.equal(s.pairs, 5);
  assert.equal(s.ridgeline_wins, 4);
  assert.equal(s.peer_wins, 1);
  assert.equal(s.disagreements, 1);
});

test('pairStats: an even count takes the mean of the middle two; the minority counts whichever side wins', () => {
  const s = pairStats([0.5, 0.75, 1.25, 0.25]);
  assert.equal(s.median, 0.625);
  assert.equal(s.peer_wins, 3);
  assert.equal(s.disagreements, 1);
  // A tie (ratio exactly 1) is a win for neither side.
  const t = pairStats([1, 1, 2]);
  assert.deepEqual([t.ridgeline_wins, t.peer_wins, t.disagreements, t.median], [1, 0, 0, 1]);
  assert.throws(() => pairStats([]), /no pairs/);
});

const run = (name: string, samples: number | null, extra: Partial<SystemRun> = {}): SystemRun => ({
  name, backend: 'cpu', threads: 1, samples_per_s: samples,
  ...(samples === null ? { skipped: 'failed: x' } : {
    timing: { samples_per_s: samples, repetitions: [{ steps: 10, seconds: 1, samples_per_s: samples }], warmup_steps: 3, cpu_utilization: samples / 1000 },
  }),
  ...extra,
});

test('aggregate: a row is the median of its runs, each run listed, failed runs counted', () => {
  const row = aggregate([run('a', 100, { role: 'pair', peak_rss_mb: 10 }), run('a', 300, { role: 'pair', peak_rss_mb: 30 }), run('a', null), run('a', 200, { role: 'single', peak_rss_mb: 20 })]);
  assert.equal(row.samples_per_s, 200);
  assert.equal(row.runs!.length, 3);
  assert.deepEqual(row.runs!.map((r) => r.role), ['pair', 'pair', 'single']);
  assert.equal(row.timing!.repetitions.length, 3);
  assert.equal(row.timing!.cpu_utilization, 0.2);
  assert.equal(row.peak_rss_mb, 30);
  assert.equal(row.failed_runs, 1);
  // Nothing ran: the row is the skipped run, with its reason.
  assert.equal(aggregate([run('b', null)]).skipped, 'failed: x');
});

test('ratiosFromPairs: a ratio is its pairs\' median, and null against a reference it was not paired with', () => {
  const systems = [aggregate([run('ridgeline-native', 10)]), aggregate([run('ridgeline-js', 1)]), aggregate([run('pytorch-x', 5)])];
  const stats = pairStats([2, 3, 4]);
  const timing = { warmupSteps: 1, seconds: 1, repetitions: 1 };
  const ratios = ratiosFromPairs(systems, [{ system: 'ridgeline-native', key: 'native', peer: 'pytorch-x', reference: 'pytorch_best', timing: { ridgeline: timing, peer: timing }, pairs: [], failed_pairs: 0, stats }]);
  assert.deepEqual(Object.keys(ratios), ['native', 'js']);
  assert.equal(ratios.native.ratio_vs_pytorch_best, 3);
  assert.equal(ratios.native.ratio_vs_tfjs_wasm, null);
  assert.equal(ratios.js.ratio_vs_tfjs_cpu, null);
});

test('checkRun and fastestCorrect: a configuration off the reference by more than the tolerance is excluded from PyTorch best', () => {
  const ref = 2.0;
  const good = run('pytorch-a', 100, { check: { steps: 5, loss: ref * (1 + CHECK_TOLERANCE / 2) } });
  const fastButWrong = run('pytorch-b', 500, { check: { steps: 5, loss: ref * (1 + 3 * CHECK_TOLERANCE) } });
  const unchecked = run('pytorch-c', 900, { check: null });
  const checks = [good, fastButWrong, unchecked].map((r) => ({ run: r, check: checkRun(r, ref) }));
  assert.deepEqual(checks.map((c) => c.check.correct), [true, false, false]);
  assert.match(checks[1].check.excluded!, /differs from the reference/);
  assert.match(checks[2].check.excluded!, /no finite loss/);
  assert.equal(fastestCorrect(checks)?.name, 'pytorch-a');
  // Without the reference's loss nothing counts as checked.
  assert.equal(checkRun(good, null).correct, false);
  assert.equal(fastestCorrect([]), null);
});

test('coreChoices: unset always; the AVX-512 kernels where the CPU has them; the environment\'s setting when it differs', () => {
  assert.deepEqual(coreChoices(new Set(['avx2']), undefined).map((c) => c.key), ['unset']);
  const all = coreChoices(new Set(['avx2', 'avx512f']), 'Haswell');
  assert.deepEqual(all.map((c) => [c.key, c.coretype]), [['unset', null], ['avx512', AVX512_CORETYPE], ['env', 'Haswell']]);
  // The environment forcing the same kernels as the avx512 configuration adds nothing.
  assert.deepEqual(coreChoices(new Set(['avx512f']), AVX512_CORETYPE.toLowerCase()).map((c) => c.key), ['unset', 'avx512']);
  const systems = pytorchSystems(all);
  assert.equal(systems.length, 3 * 6, 'per core choice: 1t, 2t, 2t-passive, each with and without the caching malloc');
  assert.equal(new Set(systems.map((s) => s.name)).size, systems.length);
  const unset = systems.find((s) => s.name === 'pytorch-unset-2t-passive-malloc')!;
  assert.equal(unset.env!.OPENBLAS_CORETYPE, null, 'null removes the variable from the child\'s environment');
  assert.equal(unset.env!.OMP_WAIT_POLICY, 'PASSIVE');
  assert.match(unset.env!.GLIBC_TUNABLES!, /mmap_threshold/);
});

test('the FLOP count: 3 × 2 × multiply-adds of the forward pass, counted by hand for tiny models', () => {
  // MLP 3-4-2: 3·4 + 4·2 = 20 multiply-adds.
  assert.equal(forwardMacs(mlpSpec(3, [4], 2, 'relu')), 20);
  assert.equal(trainFlopsPerSample(mlpSpec(3, [4], 2, 'relu')), 120);
  // conv 2 filters 3×3 pad 1 on 1×4×4: 2·4·4 outputs × 1·3·3 = 288; pool to 2×2×2 (none);
  // dense 8 → 3: 24. BN and ReLU count nothing.
  const cnn = parseArch('conv:2x3p1,bn,relu,pool:2,flatten,dense:3', [1, 4, 4], 3);
  assert.equal(forwardMacs(cnn), 288 + 24);
  assert.equal(trainFlopsPerSample(cnn), 6 * 312);
});

test('rebatch: the same rows as whole batches of another size', () => {
  const b: Batches = { meta: { batches: 5, batch: 4, features: 2, classes: 2, source: 't' }, x: Float32Array.from({ length: 40 }, (_, i) => i), y: Int32Array.from({ length: 20 }, (_, i) => i) };
  const r = rebatch(b, 6);
  assert.deepEqual([r.meta.batches, r.meta.batch], [3, 6]);
  assert.equal(r.x.length, 36);
  assert.deepEqual([...r.y], [...b.y.subarray(0, 18)]);
  assert.throws(() => rebatch(b, 21), /cannot cut 20 rows into batches of 21/);
});
