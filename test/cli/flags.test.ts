/**
 * The CLI's one map from library field names to its flags (src/cli/flags.ts): every field the
 * library names in its errors has a flag, replacement is by whole field name, and library errors
 * reach the terminal with the flags (the bad-input tests check more of them end to end).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withFlags } from '../../src/cli/flags.js';
import { ConfigError } from '../../src/errors.js';
import { CONTEXT_FLAGS, parseCoefficient, type ContextKey } from '../../src/regularization/conventions.js';
import { convert } from '../../src/regularization/convert.js';
import { contextField, regularizationField } from '../../src/regularization/fields.js';
import { CONFIG_FIELDS } from '../../src/train/trainer.js';
import { assertUserError, runCli } from '../helpers/cli.js';

test('every library field has its flag', () => {
  for (const key of Object.keys(CONTEXT_FLAGS) as ContextKey[]) assert.equal(withFlags(`give ${contextField(key)}`), `give ${CONTEXT_FLAGS[key]}`);
  assert.equal(withFlags(contextField('optimizer')), '--optimizer');
  const regularization = { l2: '--l2', decay: '--decay', decayParams: '--decay-params', decayMult: '--decay-mult', widthMult: '--width-mult' } as const;
  for (const [key, flag] of Object.entries(regularization)) assert.equal(withFlags(regularizationField(key as keyof typeof regularization)), flag);
  assert.deepEqual([CONFIG_FIELDS.batchSize, CONFIG_FIELDS.epochs, CONFIG_FIELDS.optimizer].map(withFlags), ['--batch', '--epochs', '--optimizer']);
  assert.equal(withFlags('parseArch: token 2'), '--arch: token 2');
  assert.equal(withFlags('give its network with options.arch'), 'give its network with --arch');
});

test('only whole field names are replaced', () => {
  const text = 'context.batchSize, mycontext.batch, options.l2x, the parseArchive, n = context.n.';
  assert.equal(withFlags(text), 'context.batchSize, mycontext.batch, options.l2x, the parseArchive, n = --n.');
});

test('a library error names the field; through the CLI the same error names the flag', async () => {
  const given = parseCoefficient('bengio:c=1', 'seed', 'x');
  assert.throws(() => convert(given, { optimizer: 'sgd' }), (e: unknown) => e instanceof ConfigError && e.message === 'bengio:c=1 depends on N: give context.n');
  assertUserError(await runCli(['convert', '--from', 'bengio:c=1']), { code: 2, message: ['bengio:c=1 depends on N: give --n'] });
});
