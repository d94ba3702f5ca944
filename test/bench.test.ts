/**
 * Smoke test of `npm run bench`: the quick run of the js backend alone produces the JSON report
 * with the documented keys and a positive throughput, for the MLP and for the CNN workload. No
 * timing thresholds: speed depends on the machine and its load, and the benchmark itself is not
 * part of `npm test`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CNN_ARCH, CNN_PARAMS, CNN_TIMING, cnnSpec } from '../bench/common.js';
import { requires } from './helpers/requires.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
      cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`bench timed out\n${stderr}`)); }, 300_000); // a guard against a hung child, not a speed check (typically ~15–40 s)
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

test('bench --quick --only js --workload mlp --json: report shape', async () => {
  const { code, stdout, stderr } = await runBench(['--quick', '--only', 'js', '--workload', 'mlp', '--json']);
  assert.equal(code, 0, stderr);
  const report = JSON.parse(stdout);
  for (const key of ['machine', 'systems', 'ratios', 'gemm', 'rss', 'memory_flat']) assert.ok(key in report, `report has ${key}`);
  assert.deepEqual(report.workloads, ['mlp']);
  assert.equal(report.cnn, null, 'the CNN did not run');
  assert.equal(report.workload.flops_per_sample, 6 * (784 * 256 + 256 * 256 + 256 * 10));
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
  assert.equal(mem.epochs.length, 6);
  assert.equal(typeof mem.rss_growth_after_warmup_mb, 'number');
  assert.equal(typeof mem.flat, 'boolean');
});

test('bench --quick --only js --workload cnn --json: the CNN section', async () => {
  const { code, stdout, stderr } = await runBench(['--quick', '--only', 'js', '--workload', 'cnn', '--json']);
  assert.equal(code, 0, stderr);
  const report = JSON.parse(stdout);
  assert.deepEqual(report.workloads, ['cnn']);
  // The MLP keys stay where they were, empty: the MLP did not run (and neither did GEMM and memory, which are about it).
  assert.deepEqual(report.systems, []);
  assert.deepEqual(report.ratios, {});
  assert.deepEqual(report.gemm, {});
  assert.deepEqual(report.memory_flat, {});

  const { cnn } = report;
  for (const key of ['workload', 'systems', 'references', 'ratios', 'effective_gflops', 'rss']) assert.ok(key in cnn, `cnn has ${key}`);
  assert.equal(cnn.workload.arch, CNN_ARCH);
  assert.deepEqual(cnn.workload.input_shape, [1, 28, 28]);
  assert.equal(cnn.workload.params, 390_858);
  assert.equal(cnn.workload.batch, 128);
  // conv1 28·28·32·9 + conv2 14·14·64·32·9 + conv3 7·7·128·64·9 + dense1 1152·256 + dense2 256·10
  // multiply-adds, ×2 ×3
  assert.equal(cnn.workload.forward_macs_per_sample, 225_792 + 3_612_672 + 3_612_672 + 294_912 + 2_560);
  assert.equal(cnn.workload.flops_per_sample, 6 * cnn.workload.forward_macs_per_sample);

  assert.equal(cnn.systems.length, 1);
  const [js] = cnn.systems;
  assert.equal(js.name, 'ridgeline-js');
  assert.equal(js.workload, 'cnn');
  assert.equal(js.backend, 'js');
  assert.equal(js.threads, 1);
  assert.equal(js.skipped, undefined);
  assert.ok(js.samples_per_s > 0, `samples_per_s ${js.samples_per_s}`);
  assert.ok(Number.isFinite(js.last_loss), 'the timed steps train (finite loss)');
  assert.equal(js.timing.repetitions.length, CNN_TIMING.quick.repetitions);
  assert.equal(js.details.arch, CNN_ARCH);
  assert.equal(js.details.trainable_params, 390_858);
  assert.deepEqual(js.details.decayed, ['conv1.weight', 'conv2.weight', 'conv3.weight', 'dense1.weight', 'dense2.weight']);

  assert.deepEqual(Object.keys(cnn.ratios), ['js']);
  assert.deepEqual(Object.keys(cnn.ratios.js).sort(), ['ratio_vs_pytorch_best', 'ratio_vs_tfjs_cpu', 'ratio_vs_tfjs_wasm']);
  for (const v of Object.values(cnn.ratios.js)) assert.equal(v, null);
  assert.equal(cnn.references.pytorch_best, null);
  assert.ok(cnn.effective_gflops['ridgeline-js'] > 0);
  assert.ok(cnn.rss.systems['ridgeline-js'] > 0);
});

test('bench CNN: ridgeline counts 390,858 parameters (390,410 conv/dense + 448 BN γ/β)', () => {
  assert.equal(CNN_PARAMS, 390_858);
  assert.equal(CNN_PARAMS - 2 * (32 + 64 + 128), 390_410);
});

const PYTHON = '/usr/bin/python3';

test('bench CNN: torch_step.py builds the same network from the parsed spec', requires('python3-torch'), () => {
  const script = [
    'import json, sys, torch',
    "sys.path.insert(0, 'bench')",
    'from torch_step import build_from_spec',
    'm = build_from_spec(torch, json.loads(sys.stdin.read()))',
    'print(json.dumps({"params": sum(p.numel() for p in m.parameters()), "out": list(m(torch.zeros(2, 1, 28, 28)).shape),',
    '  "modules": [type(x).__name__ for x in m]}))',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script], {
    cwd: REPO_ROOT, input: JSON.stringify(cnnSpec()), encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(got.params, CNN_PARAMS);
  assert.deepEqual(got.out, [2, 10]);
  assert.deepEqual(got.modules, ['Conv2d', 'BatchNorm2d', 'ReLU', 'MaxPool2d', 'Conv2d', 'BatchNorm2d', 'ReLU', 'MaxPool2d',
    'Conv2d', 'BatchNorm2d', 'ReLU', 'MaxPool2d', 'Flatten', 'Linear', 'ReLU', 'Linear']);
});

test('bench --workload rejects an unknown workload', async () => {
  const { code, stderr } = await runBench(['--quick', '--workload', 'rnn', '--json']);
  assert.equal(code, 2);
  assert.match(stderr, /unknown workload 'rnn'/);
});

test('bench --skip rejects an unknown system', async () => {
  const { code, stderr } = await runBench(['--quick', '--skip', 'no-such-system', '--json']);
  assert.equal(code, 2);
  assert.match(stderr, /--skip: unknown system 'no-such-system'/);
});

test('bench --only rejects an unknown system', async () => {
  const { code, stderr } = await runBench(['--quick', '--only', 'no-such-system', '--json']);
  assert.equal(code, 2);
  assert.match(stderr, /unknown system 'no-such-system'/);
});
