/** `ridgeline backends`: what loads, what it picked, and the fix for what does not. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertSuccess, runCli } from '../helpers/cli.js';

test('backends lists native, wasm and js with their kernels, and what auto picks', async () => {
  const r = await runCli(['backends']);
  assertSuccess(r);
  assert.match(r.stdout, /^native  loads: GEMM (own|blas|portable), BLAS: .+, \d+ threads?$/m);
  assert.match(r.stdout, /^wasm    loads: module (relaxed-simd|simd128), \d+ threads?$/m);
  assert.match(r.stdout, /^js      loads: 1 thread$/m);
  assert.match(r.stdout, /^auto picks: native$/m);
});

test('a backend that does not load is named with its reason and the fix', async () => {
  const r = await runCli(['backends'], { env: { RIDGELINE_NO_NATIVE: '1' } });
  assertSuccess(r);
  assert.match(r.stdout, /^native  not available: the native backend is disabled by RIDGELINE_NO_NATIVE\n {9}fix: unset RIDGELINE_NO_NATIVE$/m);
  assert.match(r.stdout, /^auto picks: wasm$/m);
  const json = await runCli(['backends', '--json'], { env: { RIDGELINE_NO_NATIVE: '1' } });
  const rows = json.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(rows.map((x) => [x.name, x.loads]), [['native', false], ['wasm', true], ['js', true]]);
});
