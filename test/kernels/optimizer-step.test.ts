/**
 * Backend.optimizerStep on every backend (js, native, wasm): the op contract by hand, prefixes,
 * and malformed calls (each must throw before writing anything). The step against the
 * TypeScript transforms, recipe by recipe, is test/optim/fused.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackends } from '../../src/kernels/select-node.js';
import { jsBackend } from '../../src/kernels/js/index.js';
import { OP_SLOTS, OPCODE, encodeAddScaledWeights, encodeAdam, encodeMomentum, encodeScale } from '../../src/kernels/optimizer-ops.js';
import { readFileSync } from 'node:fs';
import { Rng } from '../../src/tensor/rng.js';

const backends = await loadBackends();
for (const b of backends) {
  if ('error' in b) test(`optimizerStep: the ${b.name} backend loads`, () => assert.fail(`${b.name}: ${b.error}`));
}
const loaded = backends.flatMap((b) => ('backend' in b ? [b.backend] : []));

/** Bit-identical, with the first difference in the message. */
function same(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.deepEqual([...actual], [...expected], what);
}

function momentumProgram(): Float64Array {
  const program = new Float64Array(2 * OP_SLOTS);
  encodeAddScaledWeights(program, 0, 0.5);
  encodeMomentum(program, OP_SLOTS, 0.9, 1, false, false);
  return program;
}

for (const backend of loaded) {
  test(`optimizerStep [${backend.name}]: an empty program is w += u; only the first n elements are touched`, () => {
    const w = new Float32Array([1, 2, 3, 4, 5, 6]), u = new Float32Array([0.5, -1, 0.25, 8, 8, 8]);
    backend.optimizerStep(w, u, 3, new Float64Array(0), []);
    assert.deepEqual([...w], [1.5, 1, 3.25, 4, 5, 6]);
    assert.deepEqual([...u], [0.5, -1, 0.25, 8, 8, 8]);
  });

  test(`optimizerStep [${backend.name}]: one op by hand (u ← u + 0.5·w; b ← 0.9·b + u; u ← b)`, () => {
    const w = new Float32Array([2, -4, 1, 0, 3]), u = new Float32Array([1, 1, 1, 1, 1]), b = new Float32Array([10, 0, -10, 1, 2]);
    backend.optimizerStep(w, u, 5, momentumProgram(), [b]);
    // u = 1 + 0.5·w = [2, −1, 1.5, 1, 2.5]; b = 0.9·b + u = [11, −1, −7.5, 1.9, 4.3]; w += b
    same(b, new Float32Array([11, -1, -7.5, 1.9, 4.3]), 'b');
    same(u, b, 'u');
    same(w, new Float32Array([13, -5, -6.5, 1.9, 7.3]), 'w');
  });

  test(`optimizerStep [${backend.name}]: malformed calls throw before writing anything`, () => {
    const fresh = () => ({ w: new Float32Array([1, 2, 3]), u: new Float32Array([1, 1, 1]), b: new Float32Array(3) });
    const bad: [string, (a: ReturnType<typeof fresh>) => void, RegExp][] = [
      ['unknown opcode', (a) => backend.optimizerStep(a.w, a.u, 3, new Float64Array(OP_SLOTS).fill(9), []), /opcode/],
      ['partial op', (a) => backend.optimizerStep(a.w, a.u, 3, new Float64Array(OP_SLOTS + 1), []), /slots/],
      ['missing state buffer', (a) => backend.optimizerStep(a.w, a.u, 3, momentumProgram(), []), /state buffers/],
      ['extra state buffer', (a) => backend.optimizerStep(a.w, a.u, 3, new Float64Array(0), [a.b]), /state buffers/],
      ['short state buffer', (a) => backend.optimizerStep(a.w, a.u, 3, momentumProgram(), [a.b.subarray(0, 2)]), /elements/],
      ['n past the arrays', (a) => backend.optimizerStep(a.w, a.u, 4, new Float64Array(0), []), /elements/],
      ['u aliasing w', (a) => backend.optimizerStep(a.w, a.w.subarray(1), 2, new Float64Array(0), []), /overlap/],
      ['state aliasing u', (a) => backend.optimizerStep(a.w, a.u, 3, momentumProgram(), [a.u]), /overlap/],
    ];
    for (const [what, call, message] of bad) {
      const a = fresh();
      assert.throws(() => call(a), message, what);
      assert.deepEqual([...a.w, ...a.u, ...a.b], [1, 2, 3, 1, 1, 1, 0, 0, 0], `${what}: nothing written`);
    }
  });
}

// 1099: two 512-element blocks and a tail of 75, not a multiple of 4. 70001: above the native
// and wasm backends' PARAM_SPLIT_MIN (65 536), so it is split into one run per thread
// (native/optimizer.c, src/kernels/wasm/threads.ts).
for (const n of [1099, 70001]) test(`optimizerStep: every op and flag, across blocks and vector tails, on subarray views, bit-identical to js (n = ${n})`, () => {
  const rng = new Rng(7);
  /** A view at offset 1 of a longer buffer (unaligned for SIMD), filled with N(0, 1). */
  const view = () => {
    const a = new Float32Array(n + 5).subarray(1, n + 1);
    for (let i = 0; i < n; i++) a[i] = i % 13 === 0 ? 0 : rng.normal();
    return a;
  };
  for (const nesterov of [false, true]) for (const first of [false, true]) {
    const program = new Float64Array(6 * OP_SLOTS);
    encodeAddScaledWeights(program, 0, 2e-3);
    encodeMomentum(program, OP_SLOTS, 0.9, 0.7, nesterov, first);
    encodeScale(program, 2 * OP_SLOTS, 0.5);
    encodeAdam(program, 3 * OP_SLOTS, 0.9, 0.999, 1 - 0.9 ** 3, Math.sqrt(1 - 0.999 ** 3), 1e-8);
    encodeAddScaledWeights(program, 4 * OP_SLOTS, 0); // skipped, as the transforms skip a zero coefficient
    encodeScale(program, 5 * OP_SLOTS, -0.01);
    const inputs = [view(), view(), view(), view(), Float32Array.from(view(), Math.abs)]; // w, u, b, m, v ≥ 0
    const expected = inputs.map((a) => a.slice());
    jsBackend.optimizerStep(expected[0], expected[1], n, program, expected.slice(2));
    for (const backend of loaded) {
      const got = inputs.map((a) => { const c = new Float32Array(n + 3).subarray(3); c.set(a); return c; });
      backend.optimizerStep(got[0], got[1], n, program, got.slice(2));
      ['w', 'u', 'b', 'm', 'v'].forEach((name, i) => same(got[i], expected[i], `${backend.name} nesterov=${nesterov} first=${first}: ${name}`));
    }
  }
});

test('the C optimizer pass uses the TypeScript opcode table (native/optimizer.c #defines match OPCODE and OP_SLOTS)', () => {
  const c = readFileSync(new URL('../../native/optimizer.c', import.meta.url), 'utf8');
  const defines = new Map([...c.matchAll(/^#define OP_([A-Z_]+) (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
  assert.equal(defines.get('SLOTS'), OP_SLOTS);
  const cName = (k: string) => k.replace(/[A-Z]/g, (ch) => `_${ch}`).toUpperCase();
  for (const [name, code] of Object.entries(OPCODE)) assert.equal(defines.get(cName(name)), code, `OP_${cName(name)}`);
  assert.equal(defines.size, Object.keys(OPCODE).length + 1, 'no opcode in C that TypeScript lacks');
});
