/**
 * The CLI end to end on the embedded Fashion-MNIST sample: train → run directory → evaluate
 * and predict on the saved model; determinism; kill -9 and --resume; data fetch errors.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FASHION_MNIST_CLASSES } from '../../src/data/dataset.js';
import { EMBEDDED_SAMPLE_DIR, readIdxFile } from '../../src/node/datasets.js';
import {
  assertSuccess, assertUserError, csvRows, describeResult, makeTempDir, removeDir, runCli, seededBytes, spawnCli,
  type CliResult,
} from '../helpers/cli.js';

let tmp: string;
before(async () => { tmp = await makeTempDir('ridgeline-train-'); });
after(() => removeDir(tmp));

const readJsonLines = async (path: string): Promise<Record<string, unknown>[]> =>
  (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);

const withoutSeconds = (m: Record<string, unknown>) => {
  const { seconds: _seconds, ...rest } = m;
  return rest;
};

// The suites are independent; running them side by side keeps both cores busy (runCli caps
// how many children run at once).
describe('ridgeline CLI end to end', { concurrency: true }, () => {
  describe('train on the embedded sample', { concurrency: true }, () => {
    const SEED = '5';
    const base = ['train', '--epochs', '1', '--hidden', '32'];
    let jsonDir: string, textDir: string, otherSeedDir: string;
    let jsonRun: CliResult, textRun: CliResult, otherSeedRun: CliResult;

    before(async () => {
      jsonDir = join(tmp, 'json');
      textDir = join(tmp, 'text');
      otherSeedDir = join(tmp, 'other-seed');
      [jsonRun, textRun, otherSeedRun] = await Promise.all([
        runCli([...base, '--seed', SEED, '--json', '--out', jsonDir]),
        runCli([...base, '--seed', SEED, '--out', textDir]),
        runCli([...base, '--seed', '6', '--out', otherSeedDir, '--quiet']),
      ]);
    });

    it('--json prints a start record, one epoch line and one result line, and learns (test accuracy > 0.5)', () => {
      assertSuccess(jsonRun);
      const lines = jsonRun.stdout.split('\n').filter((l) => l !== '');
      const parsed = lines.map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return assert.fail(`stdout line is not JSON: ${l}\n${describeResult(jsonRun)}`);
        }
      });
      assert.deepEqual(parsed.map((p) => p.type), ['start', 'epoch', 'result'], describeResult(jsonRun));
      const [, epoch, result] = parsed;
      assert.equal(epoch.epoch, 1);
      assert.equal(result.epochs, 1);
      assert.equal(result.test_count, 1000);
      assert.equal(typeof result.test_accuracy, 'number');
      assert.ok((result.test_accuracy as number) > 0.5, `test accuracy ${result.test_accuracy} after one epoch on 3600 images`);
    });

    it('the run directory holds metrics.jsonl (data_loss + penalty = total), model and result', async () => {
      assertSuccess(jsonRun);
      const metrics = await readJsonLines(join(jsonDir, 'metrics.jsonl'));
      assert.equal(metrics.length, 1);
      const m = metrics[0] as { epoch: number; data_loss: number; penalty: number; total: number };
      assert.equal(m.epoch, 1);
      assert.ok(m.penalty > 0, 'the default --l2 1e-4 gives a positive penalty');
      assert.ok(Math.abs(m.data_loss + m.penalty - m.total) <= 1e-9, `${m.data_loss} + ${m.penalty} ≠ ${m.total}`);
      assert.ok(existsSync(join(jsonDir, 'model.safetensors')));
      assert.ok(existsSync(join(jsonDir, 'checkpoint.safetensors')));
      const result = JSON.parse(await readFile(join(jsonDir, 'result.json'), 'utf8')) as { test_accuracy: number };
      const printed = JSON.parse(jsonRun.stdout.trim().split('\n').at(-1)!) as { test_accuracy: number };
      assert.equal(result.test_accuracy, printed.test_accuracy);
      // Atomic writes leave no temp files behind.
      assert.deepEqual((await readdir(jsonDir)).sort(), ['checkpoint.safetensors', 'init.safetensors', 'metrics.jsonl', 'model.safetensors', 'result.json']);
    });

    it('the start-of-training printout names the decayed tensors and λ_E', () => {
      assertSuccess(textRun);
      const err = textRun.stderr;
      assert.match(err, /^decayed: dense1\.weight, dense2\.weight\b/m, describeResult(textRun));
      assert.match(err, /^not decayed: dense1\.bias, dense2\.bias\b/m, describeResult(textRun));
      assert.match(err, /λ_E = 0\.0001\b/, describeResult(textRun));
      assert.match(err, /784-32-10/, describeResult(textRun));
      assert.equal(textRun.stdout, '', 'without --json nothing goes to stdout');
    });

    it('the same seed gives a byte-identical model; another seed a different one', async () => {
      assertSuccess(jsonRun);
      assertSuccess(textRun);
      assertSuccess(otherSeedRun);
      const [a, b, c] = await Promise.all([jsonDir, textDir, otherSeedDir].map((d) => readFile(join(d, 'model.safetensors'))));
      assert.ok(a.equals(b), 'two runs with --seed 5 wrote different model.safetensors');
      assert.ok(!a.equals(c), '--seed 5 and --seed 6 wrote the same model.safetensors');
    });

    it('evaluate on the saved model reproduces result.json', async () => {
      assertSuccess(jsonRun);
      const model = join(jsonDir, 'model.safetensors');
      const [asJson, asText] = await Promise.all([
        runCli(['evaluate', '--model', model, '--json']),
        runCli(['evaluate', '--model', model]),
      ]);
      assertSuccess(asJson);
      assertSuccess(asText);
      const result = JSON.parse(await readFile(join(jsonDir, 'result.json'), 'utf8')) as { test_accuracy: number; test_loss: number };
      const evaluated = JSON.parse(asJson.stdout) as { accuracy: number; loss: number; count: number; split: string };
      assert.equal(evaluated.count, 1000);
      assert.equal(evaluated.split, 'test');
      assert.ok(Math.abs(evaluated.accuracy - result.test_accuracy) <= 1e-9, `evaluate ${evaluated.accuracy} vs train ${result.test_accuracy}`);
      assert.ok(Math.abs(evaluated.loss - result.test_loss) <= 1e-9 * Math.max(1, result.test_loss), `evaluate loss ${evaluated.loss} vs train ${result.test_loss}`);
      assert.ok(asText.stderr.includes(`accuracy ${(100 * result.test_accuracy).toFixed(2)}%`), describeResult(asText));
    });

    /** Checks predict's CSV: header, one row per input, a class name, probabilities summing to 1. */
    function checkPredictions(text: string, rows: number): number[] {
      const lines = text.split('\n').filter((l) => l !== '');
      assert.equal(lines[0], ['row', 'label', 'class', ...Array.from({ length: 10 }, (_, j) => `p${j}`)].join(','));
      assert.equal(lines.length, rows + 1, text);
      return lines.slice(1).map((line, i) => {
        const cells = line.split(',');
        assert.equal(cells.length, 13, line);
        assert.equal(Number(cells[0]), i);
        const label = Number(cells[1]);
        assert.ok(Number.isInteger(label) && label >= 0 && label < 10, line);
        assert.equal(cells[2], JSON.stringify(FASHION_MNIST_CLASSES[label]));
        const p = cells.slice(3).map(Number);
        assert.ok(p.every((v) => v >= 0 && v <= 1), line);
        assert.ok(Math.abs(p.reduce((s, v) => s + v, 0) - 1) <= 1e-4, `probabilities sum to ${p.reduce((s, v) => s + v, 0)}: ${line}`);
        assert.equal(label, p.indexOf(Math.max(...p)), `label is not the most probable class: ${line}`);
        return label;
      });
    }

    it('predict writes a CSV of classes and probabilities for 5 test images', async () => {
      assertSuccess(jsonRun);
      const [images, labels] = await Promise.all([
        readIdxFile(join(EMBEDDED_SAMPLE_DIR, 't10k-images-idx3-ubyte.gz')),
        readIdxFile(join(EMBEDDED_SAMPLE_DIR, 't10k-labels-idx1-ubyte.gz')),
      ]);
      const rows = Array.from({ length: 5 }, (_, i) => [labels.data[i], ...images.data.subarray(i * 784, (i + 1) * 784)]);
      const input = join(tmp, 'predict-in.csv');
      const output = join(tmp, 'predict-out.csv');
      await writeFile(input, csvRows(rows));
      const r = await runCli(['predict', '--model', join(jsonDir, 'model.safetensors'), '--input', input, '--output', output]);
      assertSuccess(r);
      assert.equal(r.stdout, '', 'with --output nothing goes to stdout');
      const predicted = checkPredictions(await readFile(output, 'utf8'), 5);
      const correct = predicted.filter((y, i) => y === labels.data[i]).length;
      assert.ok(correct >= 2, `only ${correct}/5 test images classified correctly: ${predicted} vs ${[...labels.data.subarray(0, 5)]}`);
    });

    it('predict --label-column none reads unlabelled rows and writes to stdout', async () => {
      assertSuccess(jsonRun);
      const random = seededBytes(11);
      const input = join(tmp, 'predict-unlabelled.csv');
      await writeFile(input, csvRows(Array.from({ length: 3 }, () => [...random(784)])));
      const r = await runCli(['predict', '--model', join(jsonDir, 'model.safetensors'), '--input', input, '--label-column', 'none']);
      assertSuccess(r);
      checkPredictions(r.stdout, 3);
    });
  });

  describe('a CNN with BatchNorm (--arch)', { concurrency: true }, () => {
    // Small enough to train in seconds on the sample; BN's running statistics live in the
    // model file and the checkpoint, so resume and evaluate depend on them being saved.
    const cnn = ['train', '--arch', 'conv:4x5s2,bn,relu,pool:2,flatten,dropout:0.1,dense:10', '--seed', '2', '--quiet'];
    let full: string, split: string;
    before(async () => {
      full = join(tmp, 'cnn-full');
      split = join(tmp, 'cnn-split');
      await Promise.all([
        runCli([...cnn, '--epochs', '3', '--out', full]).then(assertSuccess),
        runCli([...cnn, '--epochs', '2', '--out', split]).then(assertSuccess),
      ]);
    });

    it('2 epochs, then --resume --epochs 3, gives the 3-epoch model byte for byte (running statistics included)', async () => {
      assertSuccess(await runCli(['train', '--resume', split, '--epochs', '3', '--quiet']));
      const [a, b] = await Promise.all([full, split].map((d) => readFile(join(d, 'model.safetensors'))));
      assert.ok(a.equals(b), 'the resumed CNN differs from the uninterrupted one');
      const header = JSON.parse(a.subarray(8, 8 + Number(a.readBigUInt64LE(0))).toString('utf8')) as Record<string, { shape?: number[] }>;
      assert.deepEqual(header['bn1.running_var'].shape, [4], 'the model file holds BN running statistics');
      assert.deepEqual(header['conv1.weight'].shape, [4, 1, 5, 5], 'conv kernels in PyTorch layout');
    });

    it('evaluate on the saved CNN reproduces result.json (evaluation mode uses the running statistics)', async () => {
      const result = JSON.parse(await readFile(join(full, 'result.json'), 'utf8')) as { test_accuracy: number; test_loss: number };
      assert.ok(result.test_accuracy > 0.5, `the CNN learns: ${result.test_accuracy}`);
      const r = await runCli(['evaluate', '--model', join(full, 'model.safetensors'), '--json']);
      assertSuccess(r);
      const printed = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { accuracy: number; loss: number };
      assert.equal(printed.accuracy, result.test_accuracy);
      assert.equal(printed.loss, result.test_loss);
    });
  });

  describe('kill -9 and --resume', { concurrency: true }, () => {
    const run = ['--hidden', '128', '--epochs', '6', '--seed', '3'];
    let reference: string;
    let referenceRun: Promise<CliResult>;

    before(() => {
      reference = join(tmp, 'uninterrupted');
      // Runs while the interrupted run below is started, killed and resumed.
      referenceRun = runCli(['train', ...run, '--out', reference, '--quiet'], { timeoutMs: 120_000 });
    });
    after(async () => { await referenceRun; });

    const referenceDone = async () => {
      const r = await referenceRun;
      assertSuccess(r);
      return r;
    };

    it('a run killed mid-training resumes to a byte-identical model and the same metrics', async () => {
      const dir = join(tmp, 'interrupted');
      const checkpoint = join(dir, 'checkpoint.safetensors');
      const child = spawnCli(['train', ...run, '--out', dir, '--quiet']);
      let stderr = '';
      child.stdout!.resume();
      child.stderr!.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      let finished = false;
      void exited.then(() => { finished = true; });

      const deadline = Date.now() + 90_000;
      while (!existsSync(checkpoint)) {
        if (finished) assert.fail(`training exited before writing a checkpoint\n${stderr}`);
        if (Date.now() > deadline) {
          child.kill('SIGKILL');
          assert.fail(`no checkpoint after 90 s\n${stderr}`);
        }
        await sleep(10);
      }
      child.kill('SIGKILL');
      const [code, signal] = await exited;
      assert.equal(signal, 'SIGKILL', `the run ended on its own (exit ${code}) before it could be killed\n${stderr}`);
      const atKill = await readJsonLines(join(dir, 'metrics.jsonl'));
      assert.ok(atKill.length >= 1 && atKill.length < 6, `${atKill.length} epochs were complete when the run was killed`);
      assert.ok(!existsSync(join(dir, 'result.json')), 'a killed run has no result.json');

      const resumed = await runCli(['train', '--resume', dir, '--quiet'], { timeoutMs: 120_000 });
      assertSuccess(resumed);
      await referenceDone();

      // `--resume DIR` alone continues the run as it was started: to its 6 epochs.
      const [ma, mb] = await Promise.all([dir, reference].map((d) => readJsonLines(join(d, 'metrics.jsonl'))));
      assert.deepEqual(ma.map((m) => m.epoch), [1, 2, 3, 4, 5, 6], 'the resumed run did not train to the 6 epochs the run was started with');
      assert.deepEqual(ma.map(withoutSeconds), mb.map(withoutSeconds));
      const [a, b] = await Promise.all([dir, reference].map((d) => readFile(join(d, 'model.safetensors'))));
      assert.ok(a.equals(b), 'the resumed model differs from the uninterrupted one');
      const [ra, rb] = await Promise.all([dir, reference].map(async (d) => JSON.parse(await readFile(join(d, 'result.json'), 'utf8'))));
      assert.equal(ra.test_accuracy, rb.test_accuracy);
      assert.equal(ra.test_loss, rb.test_loss);
    });

    it('--resume with a different --lr than the run used is refused, naming --lr', async () => {
      await referenceDone();
      const saved = await readFile(join(reference, 'checkpoint.safetensors'));
      const r = await runCli(['train', '--resume', reference, '--lr', '0.5']);
      assertUserError(r, { code: 2, message: ['--lr', '0.05', '0.5'] });
      assert.ok(saved.equals(await readFile(join(reference, 'checkpoint.safetensors'))), 'a refused resume must not touch the checkpoint');
    });

    it('--resume with more --epochs continues with epochs 7 and 8', async () => {
      await referenceDone();
      const dir = join(tmp, 'extended');
      await cp(reference, dir, { recursive: true });
      const r = await runCli(['train', '--resume', dir, '--epochs', '8', '--json'], { timeoutMs: 120_000 });
      assertSuccess(r);
      const printed = r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(printed.filter((p) => p.type === 'epoch').map((p) => p.epoch), [7, 8], describeResult(r));
      const [extended, original] = await Promise.all([dir, reference].map((d) => readJsonLines(join(d, 'metrics.jsonl'))));
      assert.deepEqual(extended.map((m) => m.epoch), [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.deepEqual(extended.slice(0, 6), original, 'the first six epochs are kept as they were');
      const result = JSON.parse(await readFile(join(dir, 'result.json'), 'utf8')) as { epochs: number };
      assert.equal(result.epochs, 8);
    });
  });

  describe('--backend wasm', () => {
    it('says which module and how many threads it runs, prints no V8 warning, and learns', async () => {
      const r = await runCli(['train', '--epochs', '1', '--hidden', '32', '--backend', 'wasm', '--seed', '5']);
      assertSuccess(r);
      // On Node 20 the relaxed-SIMD module comes from V8's flag, set by the Node loader.
      // The log goes to stderr (stdout is for --json).
      assert.match(r.stderr, /backend wasm \(relaxed-simd\) on [12] threads?/, describeResult(r));
      assert.doesNotMatch(r.stderr, /warning|unknown flag/i, describeResult(r));
      const accuracy = Number(/test accuracy ([\d.]+)%/.exec(r.stderr)?.[1]);
      assert.ok(accuracy > 50, `test accuracy ${accuracy}%\n${describeResult(r)}`);
    });
  });

  describe('data fetch', () => {
    let server: Server;
    let baseUrl: string;
    const requests: string[] = [];

    before(async () => {
      server = createServer((req, res) => {
        requests.push(req.url ?? '');
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not here\n');
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mirror/`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('a mirror answering 404 fails with a message naming the HTTP status', async () => {
      const to = join(tmp, 'fetched');
      const r = await runCli(['data', 'fetch', 'fashion-mnist', '--to', to, '--base-url', baseUrl]);
      assertUserError(r, { code: 2, message: [/HTTP 404\b/, `${baseUrl}train-images-idx3-ubyte.gz`] });
      assert.deepEqual(requests, ['/mirror/train-images-idx3-ubyte.gz']);
      assert.deepEqual(existsSync(to) ? await readdir(to) : [], [], 'a failed download leaves no files behind');
    });
  });
});
