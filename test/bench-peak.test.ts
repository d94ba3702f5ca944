/**
 * The bench's peak programs build and run: the native one (bench/peak/fma.c, compiled with the
 * machine's C compiler) and the wasm one (bench/peak/wasm.ts). The machine may be busy, so no
 * rate is asserted beyond being a positive finite number; which peak a system is measured
 * against is checked by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPeakProgram, peakFor, runPeakProgram, type Peaks } from '../bench/peak.js';
import { requires } from './helpers/requires.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const positiveFinite = (x: number) => Number.isFinite(x) && x > 0;

test('bench/peak/fma.c builds with the C compiler and reports a positive GFLOP/s on 1 and 2 threads', requires('build-essential'), () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'ridgeline-peak-test-'));
  try {
    const built = buildPeakProgram(dir);
    assert.ok('path' in built, 'error' in built ? built.error : '');
    for (const threads of [1, 2]) {
      const r = runPeakProgram(built.path, threads, { seconds: 0.02, repetitions: 2 });
      assert.equal(r.threads, threads);
      assert.equal(r.gflops.length, 2);
      for (const g of r.gflops) assert.ok(positiveFinite(g), `GFLOP/s ${g}`);
      assert.ok([4, 8, 16].includes(r.lanes), `lanes ${r.lanes}`);
      assert.match(r.isa, /^(avx512f-fma|avx2-fma|avx-mul-add|sse-mul-add|generic-128)$/);
      // Every chain starts in [1, 1.11] and moves towards 1: the sum over threads, chains and
      // lanes stays there (no overflow, no denormals, nothing optimized away).
      const perLane = (r as unknown as { checksum: number }).checksum / (threads * r.chains * r.lanes);
      assert.ok(perLane >= 0.99 && perLane <= 1.12, `checksum per lane ${perLane}`);
    }
    const bad = spawnSync(built.path, ['0', '1', '1'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /threads must be in/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bench/peak/wasm.ts: the generated f32x4 chains run and report a positive GFLOP/s', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/peak/wasm.ts', '--threads', '1,2', '--seconds', '0.02', '--repetitions', '1'], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  // SIMD128 is in every runtime Node 20 ships; relaxed SIMD through the flag the Node loader sets.
  for (const variant of ['simd128', 'relaxed']) {
    assert.ok(!('skipped' in out[variant]), `${variant}: ${out[variant].skipped}`);
    assert.deepEqual(out[variant].points.map((p: { threads: number }) => p.threads), [1, 2]);
    for (const p of out[variant].points) assert.ok(positiveFinite(p.gflops[0]), `${variant} ${p.threads}t: ${p.gflops[0]}`);
  }
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'bench/peak/wasm.ts', '--threads', '0'], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /--threads takes positive integers/);
});

test('peakFor: each system is measured against the peak its instructions can reach, at its thread count', () => {
  const series = (g: number[]) => ({ label: 'x', instruction: 'x', lanes: 4, chains: 10, fused: true, points: g.map((gflops, i) => ({ threads: i + 1, gflops, repetitions: [gflops] })) });
  const peaks: Peaks = { native: series([100, 190]), wasm_relaxed: series([30, 55]), wasm_simd128: series([15, 28]), seconds: 1, repetitions: 1 };
  const at = (name: string, threads: number, details?: Record<string, unknown>) => peakFor({ name, threads, details }, peaks);
  assert.deepEqual(at('ridgeline-native', 2), { key: 'native', threads: 2, gflops: 190 });
  assert.deepEqual(at('pytorch-avx512-1t-malloc', 1), { key: 'native', threads: 1, gflops: 100 });
  assert.deepEqual(at('ridgeline-wasm', 2, { variant: 'relaxed-simd' }), { key: 'wasm_relaxed', threads: 2, gflops: 55 });
  assert.deepEqual(at('ridgeline-wasm-simd128', 2, { variant: 'simd128' }), { key: 'wasm_simd128', threads: 2, gflops: 28 });
  assert.deepEqual(at('tfjs-wasm', 1), { key: 'wasm_simd128', threads: 1, gflops: 15 });
  assert.deepEqual(at('ridgeline-js', 1), { key: 'native', threads: 1, gflops: 100 });
  // More threads than measured: the largest measured count.
  assert.deepEqual(at('pytorch-x', 4), { key: 'native', threads: 2, gflops: 190 });
  assert.equal(peakFor({ name: 'ridgeline-native', threads: 2 }, { ...peaks, native: { label: 'x', skipped: 'no cc' } }), null);
});
