/**
 * For the `export --run DIR --to <framework>` tests: train a run of one epoch on the embedded
 * sample (29 steps), export it, run the script with Debian's /usr/bin/python3, and measure how
 * far the script's final weights are from ridgeline's (max|a − b| over every tensor divided by
 * max|b|, b ridgeline's) and both test accuracies, from the one line every script prints.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors } from '../../src/format/safetensors.js';
import { assertSuccess, runCli } from './cli.js';

/** max|a − b| over every tensor of b's file, divided by max|b|. */
export function relativeDifference(a: string, b: string): number {
  const A = decodeSafetensors(new Uint8Array(readFileSync(a)), a).tensors, B = decodeSafetensors(new Uint8Array(readFileSync(b)), b).tensors;
  let diff = 0, scale = 0;
  for (const [name, t] of B) {
    const u = A.get(name);
    assert.ok(u, `${a} lacks ${name}`);
    const x = t.data as Float32Array, y = u.data as Float32Array;
    for (let i = 0; i < x.length; i++) {
      diff = Math.max(diff, Math.abs(x[i] - y[i]));
      scale = Math.max(scale, Math.abs(x[i]));
    }
  }
  return diff / scale;
}

export interface ExportedRun {
  /** The weights' relative difference, the script's and ridgeline's test accuracy (%), the steps run. */
  rel: number;
  accuracy: number;
  ours: number;
  steps: number;
  script: string;
}

/** The line every exported script prints last. */
export const REPORT_LINE = /^weights checksum [\d.e+-]+, test accuracy ([\d.]+)% \((\d+) images\), (\d+) steps$/m;

export async function trainExportRun(dir: string, to: string, options: readonly string[]): Promise<ExportedRun> {
  assertSuccess(await runCli(['train', '--epochs', '1', '--backend', 'js', '--out', dir, '--quiet', ...options]));
  const script = join(dir, `train_${to}.py`);
  assertSuccess(await runCli(['export', '--run', dir, '--to', to, '--out', script]));
  const printed = execFileSync('/usr/bin/python3', [script], { encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  const m = REPORT_LINE.exec(printed);
  assert.ok(m, `the script printed no result line:\n${printed}`);
  assert.equal(m[2], '1000');
  const ours = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { test_accuracy: number };
  return {
    rel: relativeDifference(join(dir, `train_${to}.weights.safetensors`), join(dir, 'model.safetensors')),
    accuracy: Number(m[1]), ours: 100 * ours.test_accuracy, steps: Number(m[3]), script,
  };
}
