/** Coefficients with units: finite and non-negative, and a per-step decay is a fraction below 1. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';
import { decoupledDecay, l2Coefficient, stepDecay } from '../../src/regularization/units.js';

const constructors = { l2Coefficient, decoupledDecay, stepDecay } as const;

for (const [name, make] of Object.entries(constructors)) {
  test(`${name} rejects negative, NaN and ±Infinity with ConfigError`, () => {
    for (const bad of [-1, -1e-12, -0.5, NaN, Infinity, -Infinity]) {
      assert.throws(() => make(bad), ConfigError, `${name}(${bad})`);
    }
    // Non-numbers (e.g. an unparsed option string) are rejected too.
    assert.throws(() => make('0.1' as unknown as number), ConfigError);
  });

  test(`${name} accepts 0 and small positive values unchanged`, () => {
    for (const ok of [0, 1e-12, 2.5e-4, 0.5]) assert.equal(make(ok), ok);
  });
}

test('l2Coefficient and decoupledDecay accept values ≥ 1; stepDecay rejects them', () => {
  assert.equal(l2Coefficient(1), 1);
  assert.equal(l2Coefficient(12.5), 12.5);
  assert.equal(decoupledDecay(2), 2);
  for (const bad of [1, 1.5, 100]) assert.throws(() => stepDecay(bad), ConfigError, `stepDecay(${bad})`);
  assert.equal(stepDecay(0.999), 0.999);
});

test('error messages name the quantity (default or caller-supplied)', () => {
  assert.throws(() => l2Coefficient(-1), (e: Error) => e instanceof ConfigError && /L2 coefficient/.test(e.message) && /-1/.test(e.message));
  assert.throws(() => decoupledDecay(NaN, '--weight-decay'), (e: Error) => /--weight-decay/.test(e.message) && /NaN/.test(e.message));
  assert.throws(() => stepDecay(1, '--decay-per-step'), (e: Error) => /--decay-per-step/.test(e.message) && /below 1/.test(e.message));
});
