/** Closeness checks that report where and by how much two arrays differ. */
import assert from 'node:assert/strict';

export interface Difference { maxAbs: number; maxRel: number; worst: number }

/**
 * maxRel is norm-wise: max|a − b| / max|b| (∞-norms), which stays meaningful for entries
 * near zero where an elementwise ratio would blow up.
 */
export function difference(actual: ArrayLike<number>, expected: ArrayLike<number>): Difference {
  assert.equal(actual.length, expected.length, 'length mismatch');
  let maxAbs = 0, scale = 0, worst = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= maxAbs)) { maxAbs = d; worst = i; } // NaN also lands here
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return { maxAbs, maxRel: scale > 0 ? maxAbs / scale : maxAbs, worst };
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, what = 'values'): Difference {
  const d = difference(actual, expected);
  if (!(d.maxRel <= rtol)) {
    assert.fail(`${what}: max relative difference ${d.maxRel.toExponential(3)} > ${rtol} ` +
      `(max abs ${d.maxAbs.toExponential(3)} at index ${d.worst}: got ${actual[d.worst]}, expected ${expected[d.worst]})`);
  }
  return d;
}
