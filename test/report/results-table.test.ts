/** The README's results table: claims per finished preset, and honest placeholders otherwise. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resultsTable, withResultsTable, RESULTS_BEGIN, RESULTS_END, type PresetResult } from '../../src/report/results-table.js';
import { handAnalysis } from './fixtures.js';

const done = (slopes: { seedSlope: number; perWeightSlope: number }): PresetResult => ({
  preset: 'width', axis: 'width', reportLink: 'docs/studies/width/report.md',
  analysis: handAnalysis({ ...slopes, se: 0.02 }),
  coverage: { expected: 120, found: 120, extra: 0, diverged: 0 },
});

test('a finished preset gets one row per claim its axis tests, with the measured interval and the outcome', () => {
  const t = resultsTable([done({ seedSlope: 0, perWeightSlope: 1.3 })]);
  const text = (c: unknown) => (typeof c === 'string' ? c : JSON.stringify(c));
  const seed = t.rows.find((r) => text(r[3]).includes('seed:lambda'))!;
  const perWeight = t.rows.find((r) => text(r[3]).includes('per-weight:c'))!;
  assert.equal(seed[6], 'transfers');
  assert.equal(seed[7], 'holds');
  assert.equal(perWeight[6], 'moves');
  assert.deepEqual(perWeight[7], { warn: 'fails' });
  assert.match(text(perWeight[5]), /^\+1\.30 \[\+1\.2\d, \+1\.3\d\]$/);
});

test('a preset with missing trials or no store shows no numbers', () => {
  const running: PresetResult = { ...done({ seedSlope: 0, perWeightSlope: 1.3 }), coverage: { expected: 120, found: 119, extra: 0, diverged: 0 } };
  const absent: PresetResult = { preset: 'depth', axis: 'depth', reportLink: null, analysis: null, coverage: null };
  const young: PresetResult = { preset: 'data', axis: 'data', reportLink: null, analysis: null, coverage: { expected: 270, found: 40, extra: 0, diverged: 0 } };
  const rows = resultsTable([running, absent, young]).rows;
  assert.deepEqual(rows.map((r) => r[2]), ['still running', 'not run yet', 'still running']);
  assert.ok(rows.every((r) => r.slice(3).every((c) => c === '–')));
});

test('the README block is replaced between its markers, with links to the reports', () => {
  const text = `intro\n${RESULTS_BEGIN}\nold\n${RESULTS_END}\noutro\n`;
  const next = withResultsTable(text, [done({ seedSlope: 0, perWeightSlope: 1.3 })])!;
  assert.ok(next.startsWith('intro\n') && next.endsWith(`${RESULTS_END}\noutro\n`));
  assert.doesNotMatch(next, /\nold\n/);
  assert.match(next, /Reports: \[width\]\(docs\/studies\/width\/report\.md\)\./);
  assert.equal(withResultsTable('no markers', []), null);
});

test("the canonical coefficient leads its preset's rows when no claim is about it (λ_E along N)", () => {
  const a = handAnalysis({ seedSlope: -0.7, perWeightSlope: -0.7, se: 0.02 });
  const seed = a.movements.find((m) => m.convention === 'seed')!;
  const data = { ...a, study: 'data', axis: 'data' as const, movements: [...a.movements, { ...seed, convention: 'bengio', param: 'c', slope: 0.3, ci: [0.26, 0.34] as [number, number] }] };
  const rows = resultsTable([{ preset: 'data', axis: 'data', reportLink: null, analysis: data, coverage: { expected: 10, found: 10, extra: 0, diverged: 0 } }]).rows;
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[0][3], { code: 'seed:lambda' });
  assert.equal(rows[0][6], 'moves');
  assert.deepEqual(rows[1][3], { code: 'bengio:c' });
  assert.deepEqual(rows[1][7], { warn: 'fails' });
});
