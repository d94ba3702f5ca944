/**
 * The analysis on synthetic studies with known optima and slopes (synthetic.ts): the 95%
 * interval covers the true slope in at least 90% of 200 studies, the verdicts come out right,
 * edge optima are flagged and kept out of the slope, a poor line fit widens the interval, and
 * each convention's rule predicts what it should.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, verdictOf } from '../../src/study/analysis.js';
import { locateMinimum } from '../../src/study/optimum.js';
import { t975 } from '../../src/study/stats.js';
import { syntheticConfig, syntheticStudy, type SyntheticLaw } from './synthetic.js';

const law = (l: Partial<SyntheticLaw>): SyntheticLaw => ({ mu0: -12, slope: 0, curvature: 0.02, jitter: 0.4, noise: 0.003, ...l });

test('coverage: the 95% interval of the slope covers the truth in ≥ 90% of 200 synthetic studies', () => {
  for (const truth of [0, 0.7]) {
    let covered = 0;
    for (let k = 0; k < 100; k++) {
      const [a] = analyze(syntheticStudy(law({ slope: truth, mu0: truth > 0 ? -15 : -12 }), 7000 + k));
      const m = a.movements.find((x) => x.convention === 'seed')!;
      if (m.ci[0] <= truth && truth <= m.ci[1]) covered++;
    }
    assert.ok(covered >= 90, `slope ${truth}: covered in ${covered} of 100`);
  }
});

test('verdicts: a fixed optimum transfers, a moving one moves, a noisy one is undecided', () => {
  const count = (l: SyntheticLaw, verdict: string, n = 20) => {
    let k = 0;
    for (let i = 0; i < n; i++) if (analyze(syntheticStudy(l, 100 + i))[0].movements.find((m) => m.convention === 'seed')!.verdict === verdict) k++;
    return k;
  };
  assert.ok(count(law({ jitter: 0.2 }), 'transfers') >= 18, 'slope 0, small noise');
  assert.equal(count(law({ slope: -1, mu0: -10 }), 'moves'), 20, 'slope −1');
  assert.ok(count(law({ jitter: 2.5, noise: 0.02 }), 'undecided') >= 15, 'slope 0 under heavy noise cannot be told from a movement');
  assert.equal(verdictOf([-0.2, 0.24]), 'transfers');
  assert.equal(verdictOf([0.1, 0.3]), 'moves');
  assert.equal(verdictOf([-0.1, 0.3]), 'undecided');
  assert.equal(verdictOf([NaN, NaN]), 'undecided');
});

test('an optimum beyond the grid (even after two extensions) is flagged edge and left out of the slope', () => {
  // At the last scale the optimum is at 2^-12-4·1.5 = 2^-18 ≈ 3.8e-6, …; make it fall off: slope −3.
  const [a] = analyze(syntheticStudy(law({ mu0: -17, slope: -1.5, jitter: 0.2 }), 5));
  const flags = a.optima.map((o) => o.flag);
  assert.equal(flags[flags.length - 1], 'edge', `flags ${flags}`);
  assert.equal(flags[0], null);
  const seed = a.movements.find((m) => m.convention === 'seed')!;
  assert.ok(seed.ci[0] <= -1.5 && -1.5 <= seed.ci[1], `slope from the located optima: ${seed.slope} [${seed.ci}]`);
  assert.equal(seed.dof, flags.filter((f) => f === null).length - 2);
});

test('lack of fit widens the interval: optima off any line inflate the slope error by √(χ²/dof)', () => {
  const config = syntheticConfig();
  const bent = syntheticStudy(law({ jitter: 0.15 }), 11, config).map((r) => {
    // Move the true optimum of the middle scale 1.5 octaves by relabelling its λ curve.
    if (r.trial.value !== 256) return r;
    const d = Math.log2(r.trial.coefficient) + 12 - 1.5;
    return { ...r, final_val_ce: 0.4 + 0.02 * d * d };
  });
  const m = analyze(bent)[0].movements.find((x) => x.convention === 'seed')!;
  assert.ok(m.inflation > 2, `inflation ${m.inflation}, χ² ${m.chi2} on ${m.dof}`);
  const straight = analyze(syntheticStudy(law({ jitter: 0.15 }), 11, config))[0].movements.find((x) => x.convention === 'seed')!;
  assert.ok(m.ci[1] - m.ci[0] > 2 * (straight.ci[1] - straight.ci[0]));
});

test("each convention's rule: per-weight predicts λ_E falling with P's growth, the λ_E family predicts 0", () => {
  const [a] = analyze(syntheticStudy(law({}), 3));
  const seed = a.movements.find((m) => m.convention === 'seed')!;
  const perWeight = a.movements.find((m) => m.convention === 'per-weight')!;
  assert.equal(seed.ruleSlope, 0);
  // P = 784w + w² + 10w grows by 1.0–1.9 octaves per doubling over 64…1024.
  assert.ok(perWeight.ruleSlope < -1 && perWeight.ruleSlope > -2, `per-weight rule ${perWeight.ruleSlope}`);
  // Its own slope is the canonical one minus the rule's prediction.
  assert.ok(Math.abs(perWeight.slope - (seed.slope - perWeight.ruleSlope)) < 1e-9);
  // A fixed factor per scale shifts every bootstrap slope alike: the same spread before the
  // lack-of-fit inflation (P is not a power of the width, so the line fits differently).
  assert.ok(Math.abs(perWeight.se / perWeight.inflation - seed.se / seed.inflation) < 1e-9);
});

test('locating a minimum: exact vertex, edge, flat curve on the grid', () => {
  const x = [-3, -2, -1, -0.5, 0, 0.5, 1, 2, 3];
  const y = x.map((v) => 0.4 + 0.05 * (v - 0.3) ** 2);
  const fit = locateMinimum(x, y);
  assert.ok(Math.abs(fit.x - 0.3) < 1e-9 && fit.flag === null && fit.by === 'parabola');
  assert.equal(locateMinimum(x, x.map((v) => v)).flag, 'edge');
  const flat = locateMinimum(x, x.map((v, i) => (i === 4 ? 0.39 : 0.4)));
  assert.equal(flat.by, 'parabola', 'a dip is still convex');
  const concave = locateMinimum([0, 1, 2, 3, 4], [0.5, 0.3, 0.29, 0.3, 0.5].map((v, i) => (i === 2 ? 0.299 : v)));
  assert.equal(concave.flag, null);
  assert.ok(Number.isFinite(t975(5)) && t975(5) > 2.5 && t975(1000) < 2);
});

test('a study still running: scales with fewer than three finished coefficients wait, the rest are analyzed', () => {
  const full = syntheticStudy(law({}), 21);
  // Width 1024 has two coefficients finished (by its only seed so far): too few for a curve.
  const at1024 = full.filter((r) => r.trial.value === 1024 && r.trial.seed === 1).slice(0, 2);
  const partial = [...full.filter((r) => r.trial.value !== 1024), ...at1024];
  const [a] = analyze(partial);
  assert.deepEqual(a.pending, [1024]);
  assert.deepEqual(a.optima.map((o) => o.value), [64, 128, 256, 512]);
  assert.equal(analyze(full)[0].pending.length, 0);
  // Nothing measurable anywhere: the study is left out rather than analyzed on nothing.
  assert.deepEqual(analyze(at1024), []);
});
