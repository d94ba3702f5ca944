/**
 * The whole command line fuzzed through the real binary: each case is one command (train,
 * evaluate, predict, convert, export) with a fast valid base and one to three of its own
 * options (read from the command's definition, so a new flag is fuzzed too) set to hostile
 * values. A case must end as
 *
 *   clean     exit 2 with a one-line `ridgeline:` message (or commander's usage error)
 *   accepted  exit 0 with no NaN or Infinity anywhere in what it printed
 *
 * and never with a stack trace, exit 70 ("internal error") or any other code. A run that a
 * valid but huge value makes long (`--epochs 1e9` is a request, not a bug) is stopped after
 * SLOW_MS and counted as slow, which is reported but allowed. RIDGELINE_FUZZ_CLI_CASES sets
 * the budget (the default keeps the suite short; the fuzz sessions in docs/verification.md ran
 * more).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Command } from 'commander';
import { convertCommand } from '../../src/cli/convert.js';
import { evaluateCommand } from '../../src/cli/evaluate.js';
import { exportCommand } from '../../src/cli/export.js';
import { predictCommand } from '../../src/cli/predict.js';
import { trainCommand } from '../../src/cli/train.js';
import { assertSuccess, makeTempDir, removeDir, runCli } from '../helpers/cli.js';

const CASES = Number(process.env.RIDGELINE_FUZZ_CLI_CASES) || 30;
const SLOW_MS = 30_000;
const STACK_LINE = /^\s+at /m;

/** Values that break parsers: empty, signs, non-finite, overflow, other bases, text, paths. */
const HOSTILE = ['', '0', '-1', '1.5', 'nan', 'NaN', 'inf', '-Infinity', '1e400', '1e-400', '1e9', 'abc', '🙂', '0x10', ' 2', '1,2', '%s%n', '../../nope', '/dev/null', '-', '--', '1e-4', 'seed:lambda=-1', 'nope:x=1'];

let tmp: string, model: string, csv: string, run: string;
before(async () => {
  tmp = await makeTempDir('ridgeline-fuzz-cli-');
  run = join(tmp, 'run');
  assertSuccess(await runCli(['train', '--epochs', '1', '--hidden', '4', '--backend', 'js', '--out', run, '--quiet']));
  model = join(run, 'model.safetensors');
  csv = join(tmp, 'rows.csv');
  writeFileSync(csv, Array.from({ length: 3 }, (_, r) => Array.from({ length: 784 }, (_, i) => (i * 7 + r) % 256).join(',')).join('\n') + '\n');
});
after(async () => { await removeDir(tmp); });

/** Per command: its definition and a fast valid base (case i writes under its own name). */
const COMMANDS: { name: string; def: () => Command; base: (i: number) => string[] }[] = [
  { name: 'train', def: trainCommand, base: (i) => ['--epochs', '1', '--hidden', '4', '--backend', 'js', '--quiet', '--out', join(tmp, `t${i}`)] },
  { name: 'evaluate', def: evaluateCommand, base: () => ['--model', model, '--backend', 'js'] },
  { name: 'predict', def: predictCommand, base: (i) => ['--model', model, '--input', csv, '--output', join(tmp, `p${i}.csv`), '--backend', 'js'] },
  { name: 'convert', def: convertCommand, base: () => ['--from', '1e-4', '--batch', '128', '--n', '50000', '--lr', '0.05'] },
  { name: 'export', def: exportCommand, base: (i) => ['--model', model, '--out', join(tmp, `e${i}.onnx`)] },
];

/** A command's long options that take a value (flags without one are toggled as they are). */
function optionsOf(def: () => Command): { flag: string; takesValue: boolean }[] {
  return def().options.filter((o) => o.long && o.long !== '--help').map((o) => ({ flag: o.long!, takesValue: o.required || o.optional }));
}

const cases = fc.sample(
  fc.nat({ max: COMMANDS.length - 1 }).chain((c) => {
    const opts = optionsOf(COMMANDS[c].def);
    return fc.record({
      command: fc.constant(c),
      flags: fc.array(fc.record({ option: fc.constantFrom(...opts), value: fc.constantFrom(...HOSTILE) }), { minLength: 1, maxLength: 3 }),
    });
  }),
  { numRuns: CASES, seed: 20261208 },
);

type Outcome = 'clean' | 'accepted' | 'slow' | 'stack' | 'garbage' | 'odd';

test(`fuzz the command line: ${CASES} cases through the real binary, only clean errors or sound results`, async (t) => {
  const counts: Record<Outcome, number> = { clean: 0, accepted: 0, slow: 0, stack: 0, garbage: 0, odd: 0 };
  const bad: string[] = [];
  await Promise.all(cases.map(async ({ command, flags }, i) => {
    const c = COMMANDS[command];
    // Later options win in commander, so the hostile values override the base's.
    const args = [c.name, ...c.base(i), ...flags.flatMap(({ option, value }) => (option.takesValue ? [option.flag, value] : [option.flag]))];
    let outcome: Outcome, detail = '';
    try {
      // In the temp dir: a hostile --out or --output such as `0` or `-` is a valid relative path.
      const r = await runCli(args, { timeoutMs: SLOW_MS, cwd: tmp });
      const out = r.stdout + r.stderr;
      if (r.code === 70 || STACK_LINE.test(r.stderr)) outcome = 'stack';
      else if (r.code === 0) outcome = /\bNaN\b|\bInfinity\b/.test(out) ? 'garbage' : 'accepted';
      else if (r.code === 2 && /^(ridgeline: |error: )/m.test(r.stderr)) outcome = 'clean';
      else outcome = 'odd';
      detail = `exit ${r.code}: ${out.trim().split('\n').slice(-3).join(' | ').slice(0, 300)}`;
    } catch (e) {
      if (!/timed out/.test((e as Error).message)) throw e;
      outcome = 'slow';
    }
    counts[outcome]++;
    if (outcome === 'stack' || outcome === 'garbage' || outcome === 'odd') bad.push(`${outcome}: ridgeline ${args.map((a) => JSON.stringify(a)).join(' ')}\n  ${detail}`);
  }));
  t.diagnostic(`outcomes: ${JSON.stringify(counts)}`);
  assert.equal(bad.length, 0, `${JSON.stringify(counts)}\n${bad.join('\n')}`);
  assert.ok(counts.clean > 0, `the cases reach the error paths: ${JSON.stringify(counts)}`);
});
