/**
 * Smoke test of `npm run bench`: the quick run of the js backend alone produces the JSON report
 * with the documented keys and a positive throughput. No timing thresholds: speed depends on
 * the machine and its load, and the benchmark itself is not part of `npm test`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
      cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`bench timed out\n${stderr}`)); }, 300_000); // a guard against a hung child, not a speed check (typically ~15–20 s)
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

test('bench --quick --only js --json: report shape', async () => {
  const { code, stdout, stderr } = await runBench(['--quick', '--only', 'js', '--json']);
  assert.equal(code, 0, stderr);
  const report = JSON.parse(stdout);
  for (const key of ['machine', 'systems', 'ratios', 'gemm', 'rss', 'memory_flat']) assert.ok(key in report, `report has ${key}`);
  assert.ok(Number.isInteger(report.machine.available_parallelism) && report.machine.available_parallelism > 0);
  assert.equal(typeof report.machine.versions.node, 'string');

  assert.equal(report.systems.length, 1);
  const [js] = report.systems;
  assert.equal(js.name, 'ridgeline-js');
  assert.equal(js.backend, 'js');
  assert.equal(js.threads, 1);
  assert.ok(js.samples_per_s > 0, `samples_per_s ${js.samples_per_s}`);
  assert.equal(js.skipped, undefined);
  assert.ok(Number.isFinite(js.last_loss), 'the timed steps train (finite loss)');
  assert.equal(js.timing.repetitions.length, 3);

  assert.deepEqual(Object.keys(report.ratios), ['js']);
  assert.deepEqual(Object.keys(report.ratios.js).sort(), ['ratio_vs_pytorch_best', 'ratio_vs_tfjs_cpu', 'ratio_vs_tfjs_wasm']);
  // --only js runs no reference system, so every ratio is null rather than made up.
  for (const v of Object.values(report.ratios.js)) assert.equal(v, null);

  const shapes = report.gemm.js;
  for (const s of ['NT 128x256x784', 'TN 256x784x128', 'NN 128x256x256', 'NN 1024x1024x1024']) {
    assert.ok(shapes[s] > 0, `GFLOP/s for ${s}`);
  }
  assert.ok(report.rss.systems['ridgeline-js'] > 0);
  const mem = report.memory_flat.js;
  assert.equal(mem.epochs.length, 3);
  assert.equal(typeof mem.flat, 'boolean');
});

test('bench --only rejects an unknown system', async () => {
  const { code, stderr } = await runBench(['--quick', '--only', 'no-such-system', '--json']);
  assert.equal(code, 2);
  assert.match(stderr, /unknown system 'no-such-system'/);
});
