/**
 * The CLI facing bad input: every user error ends with a one-line `ridgeline: …` message that
 * names the problem, exit code 2 (3 for a diverging run), and never a stack trace.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeSafetensors, type NamedTensor } from '../../src/format/safetensors.js';
import { mlpSpec, parseArch, type ModelSpec } from '../../src/nn/spec.js';
import {
  assertUserError, describeResult, makeIdxDir, makeTempDir, randomCsv, removeDir, runCli, seededBytes,
  type IdxCorruption,
} from '../helpers/cli.js';

let tmp: string;
/** A small valid IDX dataset: any option that is wrongly accepted trains in a blink on it. */
let goodData: string;
/** A valid model file for 784 features: 784-16-10, zero weights. */
let goodModel: string;

const zeros = (name: string, shape: number[]): NamedTensor =>
  ({ name, dtype: 'F32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });

function modelFile(spec: ModelSpec, shapes: Record<string, number[]>): Uint8Array {
  return encodeSafetensors(Object.entries(shapes).map(([name, shape]) => zeros(name, shape)),
    { format: 'ridgeline-model/1', architecture: JSON.stringify(spec) });
}

before(async () => {
  tmp = await makeTempDir('ridgeline-bad-input-');
  goodData = join(tmp, 'good');
  await makeIdxDir(goodData, { trainCount: 30, testCount: 10 });
  goodModel = join(tmp, 'good-model.safetensors');
  await writeFile(goodModel, modelFile(mlpSpec(784, [16], 10), {
    'dense1.weight': [16, 784], 'dense1.bias': [16], 'dense2.weight': [10, 16], 'dense2.bias': [10],
  }));
});

after(() => removeDir(tmp));

/** Options that keep any accidental training run tiny. */
const small = () => ['--data', goodData, '--hidden', '8', '--epochs', '1', '--quiet'];

// Every test runs one short child process; runCli caps how many run at once.
describe('ridgeline CLI on bad input', { concurrency: true }, () => {
  describe('IDX data errors', { concurrency: true }, () => {
    const idxCase = (corrupt: IdxCorruption, message: (dir: string) => (string | RegExp)[]) => async () => {
      const dir = join(tmp, `idx-${corrupt}`);
      await makeIdxDir(dir, { trainCount: 30, testCount: 10, corrupt });
      const r = await runCli(['train', '--data', dir, '--hidden', '8', '--epochs', '1']);
      assertUserError(r, { code: 2, message: message(dir) });
    };

    it('a file that is not IDX (bad magic)', idxCase('bad-magic', (dir) => [
      join(dir, 'train-images-idx3-ubyte'), 'is not an IDX file', /magic/,
    ]));

    it('a truncated IDX file', idxCase('truncated', (dir) => [
      join(dir, 'train-images-idx3-ubyte'), /truncated/,
    ]));

    it('images and labels of different counts', idxCase('count-mismatch', (dir) => [
      dir, /different counts/, /30 vs 29/,
    ]));

    it('a label out of range (12)', idxCase('label-out-of-range', (dir) => [
      dir, /label 12\b/, /out of range/,
    ]));

    it('gzip-compressed IDX files are accepted (control)', async () => {
      const dir = join(tmp, 'idx-gz');
      await makeIdxDir(dir, { trainCount: 30, testCount: 10, gzip: true });
      const r = await runCli(['train', '--data', dir, '--hidden', '8', '--epochs', '1', '--quiet']);
      assert.equal(r.code, 0, describeResult(r));
    });
  });

  describe('CSV data errors', { concurrency: true }, () => {
    const rows = () => randomCsv(6).trim().split('\n').map((line) => line.split(','));
    const csvCase = (name: string, edit: (rows: string[][]) => void, message: (file: string) => (string | RegExp)[]) => async () => {
      const data = rows();
      edit(data);
      const file = join(tmp, name);
      await writeFile(file, data.map((r) => r.join(',')).join('\n') + '\n');
      const r = await runCli(['train', '--data', file, '--hidden', '8', '--epochs', '1']);
      assertUserError(r, { code: 2, message: message(file) });
    };

    it('a ragged row names its line', csvCase('ragged.csv', (d) => { d[3] = d[3].slice(0, 500); },
      (file) => [file, /line 4\b/, /500 columns, expected 785/]));

    it('a non-numeric cell names its line and column', csvCase('non-numeric.csv', (d) => { d[2][10] = 'abc'; },
      (file) => [file, /line 3\b/, /column 11\b/, "'abc'", /not a number/]));

    it('a label out of range', csvCase('label.csv', (d) => { d[1][0] = '10'; },
      (file) => [file, /line 2\b/, /label 10\b/, /out of range/]));
  });

  describe('command-line errors', { concurrency: true }, () => {
    it('an unknown option', async () => {
      const r = await runCli(['train', '--bogus']);
      assertUserError(r, { code: 2, message: [/unknown option/, "'--bogus'"] });
    });

    it('an unknown command', async () => {
      const r = await runCli(['frobnicate']);
      assertUserError(r, { code: 2, message: [/unknown command/, "'frobnicate'"] });
    });

    const optionCases: [string[], (string | RegExp)[]][] = [
      [['--l2', '-1'], ['--l2', "'-1'", /non-negative/]],
      [['--l2', 'abc'], ['--l2', "'abc'", /number/]],
      [['--lr', '0'], ['--lr', "'0'", /positive/]],
      [['--lr', '-0.1'], ['--lr', "'-0.1'", /positive/]],
      [['--hidden', '0'], ['--hidden', "'0'", /positive integer/]],
      [['--hidden', '256,x'], ['--hidden', "'x'", /positive integer/]],
      [['--batch', '1.5'], ['--batch', "'1.5'", /integer/]],
      [['--validation', '-3'], ['--validation', "'-3'", /non-negative/]],
    ];
    for (const [args, message] of optionCases) {
      it(`train ${args.join(' ')}`, async () => {
        const r = await runCli(['train', ...small(), ...args]);
        assertUserError(r, { code: 2, message });
      });
    }

    it('a coupled convention given to --decay explains to use --l2', async () => {
      const r = await runCli(['train', ...small(), '--decay', 'keras:l2=1e-4']);
      assertUserError(r, { code: 2, message: ['--decay', 'keras', /coupled/, /--l2/] });
    });

    it('a decoupled convention given to --l2 explains to use --decay', async () => {
      const r = await runCli(['train', ...small(), '--l2', 'pytorch-adamw:weight_decay=0.01']);
      assertUserError(r, { code: 2, message: ['--l2', 'pytorch-adamw', /decoupled/, /--decay/] });
    });

    it('an unknown convention lists the known ones', async () => {
      const r = await runCli(['train', ...small(), '--l2', 'caffe:weight_decay=1e-4']);
      assertUserError(r, { code: 2, message: ["unknown convention 'caffe'", 'sklearn-mlp'] });
    });

    it('a convention that needs context not given names the flag', async () => {
      const r = await runCli(['convert', '--from', 'sklearn-mlp:alpha=0.064']);
      assertUserError(r, { code: 2, message: ['sklearn-mlp', /--batch/] });
    });

    it('--decay-params framework with conventions that disagree is refused', async () => {
      const r = await runCli(['train', ...small(), '--l2', 'sklearn-mlp:alpha=0.01', '--decay', 'pytorch-adamw:weight_decay=0.01', '--decay-params', 'framework']);
      assertUserError(r, { code: 2, message: ['--decay-params framework', /ambiguous/] });
    });
  });

  describe('model file errors', { concurrency: true }, () => {
    it('evaluate a model file of random bytes', async () => {
      const file = join(tmp, 'random.safetensors');
      await writeFile(file, seededBytes(3)(400));
      const r = await runCli(['evaluate', '--model', file]);
      assertUserError(r, { code: 2, message: [file, /safetensors/, /header/] });
    });

    it('evaluate a truncated model file', async () => {
      const file = join(tmp, 'truncated.safetensors');
      const bytes = modelFile(mlpSpec(784, [16], 10), {
        'dense1.weight': [16, 784], 'dense1.bias': [16], 'dense2.weight': [10, 16], 'dense2.bias': [10],
      });
      await writeFile(file, bytes.subarray(0, 64));
      const r = await runCli(['evaluate', '--model', file]);
      assertUserError(r, { code: 2, message: [file, /truncated/] });
    });

    it('evaluate a model whose tensor shapes do not match its architecture', async () => {
      const file = join(tmp, 'shapes.safetensors');
      // The architecture says 16 hidden units, the tensors have 32.
      await writeFile(file, modelFile(mlpSpec(784, [16], 10), {
        'dense1.weight': [32, 784], 'dense1.bias': [32], 'dense2.weight': [10, 32], 'dense2.bias': [10],
      }));
      const r = await runCli(['evaluate', '--model', file]);
      assertUserError(r, { code: 2, message: [file, 'dense1.weight', /shape/, '[32,784]', '[16,784]'] });
    });

    it('evaluate a 784-feature model on a CSV with another column count', async () => {
      const csv = join(tmp, 'narrow.csv');
      await writeFile(csv, randomCsv(12, 100));
      const r = await runCli(['evaluate', '--model', goodModel, '--data', csv]);
      assertUserError(r, { code: 2, message: [/784/, /100/, /features/] });
    });
  });

  describe('model spec (--arch) and image shape errors', { concurrency: true }, () => {
    // Arguments are built when a test runs: goodData is set in before().
    const arch = (spec: string, ...more: string[]) => () => ['train', '--data', goodData, '--epochs', '1', '--arch', spec, ...more];
    const archCases: [string, () => string[], (string | RegExp)[]][] = [
      ['an unknown layer names the token and where it is', arch('conv:4x3,foo:3,flatten,dense:10'),
        ['--arch', /token 2\b/, "'foo:3'", /unknown layer 'foo'/, /known: dense, conv/, /\n\s+\^{5}/]],
      ['a malformed conv token shows the expected form', arch('conv:4,flatten,dense:10'), ["'conv:4'", /conv:FILTERSxKERNEL/]],
      ['a kernel larger than its input prints the shapes through the network', arch('conv:4x3,pool:2,conv:8x15,flatten,dense:10'),
        [/layer 3 \(conv:8x15\)/, /window 15×15 is larger than its input 13×13/, /input\s+1×28×28/, /conv:4x3\s+4×26×26/, /pool:2\s+4×13×13/, /conv:8x15\s+✗/]],
      ['a conv after flatten needs an image', arch('flatten,conv:4x3,flatten,dense:10'), [/conv needs a C×H×W input, got 784/]],
      ['a last dense layer with the wrong width', arch('conv:4x3,flatten,dense:5'), [/last dense layer has 5 units/, /10 classes/]],
      ['a spec that does not end in dense', arch('conv:4x3,flatten,dense:10,relu'), [/last layer must be dense/]],
      ['--arch with --hidden', arch('flatten,dense:10', '--hidden', '8'), ['--arch', /--hidden/]],
      ['--shape with IDX data', arch('flatten,dense:10', '--shape', '1x28x28'), ['--shape', /CSV/]],
      ['a bad --shape', arch('flatten,dense:10', '--shape', '1x0x28'), ['--shape', /positive integers/]],
    ];
    for (const [name, args, message] of archCases) {
      it(name, async () => assertUserError(await runCli(args()), { code: 2, message }));
    }

    it('a conv spec on flat CSV rows suggests --shape; a --shape of the wrong size is refused', async () => {
      const csv = join(tmp, 'images.csv');
      await writeFile(csv, randomCsv(12));
      const flat = await runCli(['train', '--data', csv, '--epochs', '1', '--arch', 'conv:4x3,flatten,dense:10']);
      assertUserError(flat, { code: 2, message: [/needs a C×H×W input, got 784/, /--shape/] });
      const wrong = await runCli(['train', '--data', csv, '--epochs', '1', '--shape', '2x28x28', '--arch', 'conv:4x3,flatten,dense:10']);
      assertUserError(wrong, { code: 2, message: [csv, /2, 28, 28/, /1568/, /785|784/] });
      const ok = await runCli(['train', '--data', csv, '--epochs', '1', '--quiet', '--validation', '2', '--shape', '1x28x28', '--arch', 'conv:2x5s3,flatten,dense:10']);
      assert.equal(ok.code, 0, describeResult(ok));
    });

    it('evaluate a CNN model whose conv kernel has another channel count than its architecture', async () => {
      const file = join(tmp, 'cnn-channels.safetensors');
      const spec = parseArch('conv:4x3,relu,conv:8x3,flatten,dense:10', [1, 28, 28], 10);
      // conv2 reads 4 channels; the file's kernel was saved for 3.
      await writeFile(file, modelFile(spec, {
        'conv1.weight': [4, 1, 3, 3], 'conv1.bias': [4], 'conv2.weight': [8, 3, 3, 3], 'conv2.bias': [8],
        'dense1.weight': [10, 8 * 24 * 24], 'dense1.bias': [10],
      }));
      const r = await runCli(['evaluate', '--model', file, '--data', goodData]);
      assertUserError(r, { code: 2, message: [file, 'conv2.weight', '[8,3,3,3]', '[8,4,3,3]'] });
    });
  });

  describe('run directory and data path errors', { concurrency: true }, () => {
    it('train --resume on an empty directory says there is no checkpoint', async () => {
      const dir = join(tmp, 'empty-run');
      await mkdir(dir);
      const r = await runCli(['train', '--resume', dir]);
      assertUserError(r, { code: 2, message: [dir, /no checkpoint/] });
    });

    it('train --resume on a nonexistent directory', async () => {
      const dir = join(tmp, 'no-such-run');
      const r = await runCli(['train', '--resume', dir]);
      assertUserError(r, { code: 2, message: [dir, /not a run directory|does not exist|no such/i] });
      assert.ok(!existsSync(dir), '--resume must not create the directory');
    });

    it('--data /nonexistent', async () => {
      const r = await runCli(['train', '--data', '/nonexistent', '--hidden', '8', '--epochs', '1']);
      assertUserError(r, { code: 2, message: ['/nonexistent', /no such/] });
    });
  });

  describe('divergence', { concurrency: true }, () => {
    /**
     * SGD at η = 1e6 without L2: the loss reaches ~1e21 in the first epoch (finite in float32, so
     * not NaN). Such a run has diverged and must not end "successfully" with exit 0.
     */
    it('train --lr 1e6 --optimizer sgd --l2 0 exits 3 saying it diverged', async () => {
      const out = join(tmp, 'diverged-lr1e6');
      const r = await runCli(['train', '--hidden', '16', '--epochs', '1', '--lr', '1e6', '--optimizer', 'sgd', '--l2', '0', '--out', out]);
      assertUserError(r, { code: 3, message: [/diverged/] });
      assert.ok(!existsSync(join(out, 'checkpoint.safetensors')), `no checkpoint after diverging in epoch 1\n${describeResult(r)}`);
      assert.ok(!existsSync(join(out, 'result.json')), 'no result.json for a diverged run');
    });

    it('a run that diverges in epoch 1 with --out does not claim a checkpoint was kept', async () => {
      // η = 1e30 overflows float32 on the second step, so the loss becomes NaN in epoch 1.
      const out = join(tmp, 'diverged-nan');
      const r = await runCli(['train', '--hidden', '16', '--epochs', '1', '--lr', '1e30', '--optimizer', 'sgd', '--l2', '0', '--out', out]);
      assertUserError(r, { code: 3, message: [/diverged/, /epoch 1\b/, /lower the learning rate/i] });
      assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('ridgeline:')).length, 1, describeResult(r));
      const checkpoint = join(out, 'checkpoint.safetensors');
      assert.ok(!existsSync(checkpoint), 'no epoch finished, so there is no checkpoint');
      assert.doesNotMatch(r.stderr, /checkpoint[^\n]*is kept/,
        `the message points the user to a checkpoint that does not exist\n${describeResult(r)}`);
    });
  });
});
