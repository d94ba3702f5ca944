/**
 * Conventions end to end: a foreign coefficient given verbatim to `train` lands in the
 * canonical units the summary and the model file report; `convert` and `conventions` print
 * what they promise.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeSafetensors } from '../../src/format/safetensors.js';
import { CONVENTIONS } from '../../src/regularization/conventions.js';
import { assertSuccess, makeTempDir, removeDir, runCli } from '../helpers/cli.js';

let tmp: string;
before(async () => { tmp = await makeTempDir(); });
after(async () => { await removeDir(tmp); });

describe('conventions through the CLI', { concurrency: true }, () => {
  it('train --l2 sklearn-mlp:alpha=0.064 --batch 32 applies λ_E = alpha/(2B) = 1e-3 and records it', async () => {
    const out = join(tmp, 'sk');
    const r = await runCli(['train', '--epochs', '1', '--hidden', '16', '--batch', '32', '--l2', 'sklearn-mlp:alpha=0.064', '--out', out]);
    assertSuccess(r);
    assert.match(r.stderr, /from sklearn-mlp:alpha=0\.064/);
    assert.match(r.stderr, /λ_E = 0\.001\b/);
    const { metadata } = decodeSafetensors(new Uint8Array(await readFile(join(out, 'model.safetensors'))), 'model');
    const training = JSON.parse(metadata.training);
    assert.deepEqual(training.regularization, [{ given: 'sklearn-mlp:alpha=0.064', decayParams: 'weights', scaling: { per: 'batch', batch: 32 }, kind: 'coupled', value: 0.001 }]);
    const groups = JSON.parse(metadata.regularization);
    assert.equal(groups[0].lambdaE, 0.001);
  });

  it('train and convert print one δ: the same direct and long-run shrink for the same setup', async () => {
    // The embedded sample holds 3 600 training rows after its 10% validation split: 29 steps of 128.
    const [train, conv] = await Promise.all([
      runCli(['train', '--epochs', '1', '--hidden', '16', '--optimizer', 'momentum', '--momentum', '0.9', '--lr', '0.05', '--l2', '1e-4', '--batch', '128']),
      runCli(['convert', '--from', 'seed:lambda=1e-4', '--optimizer', 'momentum', '--momentum', '0.9', '--lr', '0.05', '--batch', '128', '--n', '3600']),
    ]);
    assertSuccess(train);
    assertSuccess(conv);
    const line = (text: string) => text.split('\n').map((l) => l.trim()).find((l) => l.startsWith('direct δ per step'));
    assert.equal(line(train.stderr), 'direct δ per step = 0.00001 (at the peak η), shrink per epoch (1 − δ)^29 = 0.99971; long-run through momentum μ=0.9: 0.0001 per step, 0.99710 per epoch');
    assert.equal(line(conv.stdout), line(train.stderr));
  });

  it('train --decay pytorch-adamw:weight_decay=0.01 --optimizer adam puts the decay after the moments', async () => {
    const r = await runCli(['train', '--epochs', '1', '--hidden', '16', '--optimizer', 'adam', '--lr', '0.001', '--l2', '0', '--decay', 'pytorch-adamw:weight_decay=0.01']);
    assertSuccess(r);
    assert.match(r.stderr, /chain \[scale_by_adam → masked\(add_decayed_weights\) → scale_by_learning_rate\]/);
    assert.match(r.stderr, /decoupled c = 0\.01/);
    // δ = η·c = 1e-3 · 0.01 = 1e-5
    assert.match(r.stderr, /δ per step = 0\.00001\b/);
  });

  it('convert --from keras:l2=1e-4 --to sklearn-mlp,pytorch-sgd --batch 256 --n 60000 --json', async () => {
    const r = await runCli(['convert', '--from', 'keras:l2=1e-4', '--to', 'sklearn-mlp,pytorch-sgd', '--batch', '256', '--n', '60000', '--json']);
    assertSuccess(r);
    const report = JSON.parse(r.stdout);
    assert.equal(report.canonical.value, 1e-4);
    const byId = Object.fromEntries(report.results.map((x: { convention: string; value: number }) => [x.convention, x.value]));
    assert.ok(Math.abs(byId['sklearn-mlp'] - 2 * 256 * 1e-4) < 1e-15); // alpha = 2Bλ_E
    assert.ok(Math.abs(byId['pytorch-sgd'] - 2e-4) < 1e-18); // c = 2λ_E
  });

  it('convert prints the worked example as text', async () => {
    const r = await runCli(['convert', '--from', 'pytorch-sgd:weight_decay=5e-4', '--batch', '128', '--n', '50000', '--lr', '0.1']);
    assertSuccess(r);
    assert.match(r.stdout, /λ_E \(objective coefficient\) = 0\.00025/);
    assert.match(r.stdout, /^direct δ per step = 0\.00005 \(at the peak η\), shrink per epoch \(1 − δ\)\^391 = 0\.98064$/m);
    assert.match(r.stdout, /^sklearn-mlp:alpha\s+0\.064\s/m);
    assert.match(r.stdout, /^sklearn-logreg:C\s+0\.04\s/m);
  });

  it('conventions lists every convention with its formula and what it reads', async () => {
    const [text, json] = await Promise.all([runCli(['conventions']), runCli(['conventions', '--json'])]);
    assertSuccess(text);
    assertSuccess(json);
    for (const c of CONVENTIONS) assert.ok(text.stdout.includes(`${c.id}:${c.param}=…`), c.id);
    const rows = JSON.parse(json.stdout) as { id: string; formula: string; needs: string[] }[];
    assert.equal(rows.length, CONVENTIONS.length);
    assert.deepEqual(rows.find((x) => x.id === 'sklearn-mlp')!.needs, ['--batch']);
    assert.ok(rows.every((x) => x.formula.length > 0));
  });
});
