/**
 * The fuzz suite with a small budget (`npm run fuzz -- --cases N` runs it long): for every
 * parser and validator, no input ends in a stack trace, a hang, a memory blow-up or accepted
 * garbage (test/fuzz/targets.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzz, TARGETS } from './targets.js';

const CASES = Number(process.env.RIDGELINE_FUZZ_CASES) || 300;

for (const target of TARGETS) {
  test(`fuzz ${target.name}: ${CASES} cases, only clean errors or sound results`, async () => {
    const { counts, bad } = await fuzz(target, CASES, 20261207);
    assert.equal(counts.stack + counts.hang + counts.memory + counts.garbage, 0,
      `${JSON.stringify(counts)}\n${bad.map((b) => `${b.outcome}: ${JSON.stringify(b.input instanceof Uint8Array ? Array.from(b.input.subarray(0, 64)) : b.input).slice(0, 300)}\n  ${b.error ?? ''}`).join('\n')}`);
    assert.ok(counts.clean > 0, 'the inputs reach the error paths');
  });
}
