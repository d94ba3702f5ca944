/**
 * Rebuilds data/sample/ (the dataset the CLI uses when --data is omitted) from Debian's
 * Fashion-MNIST copy: `node --import tsx tools/make-sample.ts`. Output is deterministic.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FASHION_MNIST_CLASSES } from '../src/data/dataset.js';
import { encodeIdx, type IdxArray } from '../src/data/idx.js';
import { FASHION_MNIST_FILES } from '../src/data/bytes.js';
import { DEBIAN_FASHION_MNIST, EMBEDDED_SAMPLE_DIR, readIdxFile } from '../src/node/datasets.js';

const TRAIN = 4000;
const TEST = 1000;
const CLASSES = 10;

const read = (name: string) => readIdxFile(join(DEBIAN_FASHION_MNIST, `${name}.gz`));
const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
  Object.values(FASHION_MNIST_FILES).map(read),
);

const trainRows = pickTrainingRows(trainLabels.data);
const testRows = Array.from({ length: TEST }, (_, i) => i);

await mkdir(EMBEDDED_SAMPLE_DIR, { recursive: true });
const outputs: [string, IdxArray, number[]][] = [
  [FASHION_MNIST_FILES.trainImages, trainImages, trainRows],
  [FASHION_MNIST_FILES.trainLabels, trainLabels, trainRows],
  [FASHION_MNIST_FILES.testImages, testImages, testRows],
  [FASHION_MNIST_FILES.testLabels, testLabels, testRows],
];
const sizes: string[] = [];
for (const [name, source, rows] of outputs) {
  const gz = gzipSync(encodeIdx(...selectRows(source, rows)), { level: 9 });
  await writeFile(join(EMBEDDED_SAMPLE_DIR, `${name}.gz`), gz);
  sizes.push(`${name}.gz: ${gz.length} bytes`);
}
const trainCounts = classCounts(trainLabels.data, trainRows);
const testCounts = classCounts(testLabels.data, testRows);
await writeFile(join(EMBEDDED_SAMPLE_DIR, 'README.md'), readme(trainCounts, testCounts, isPrefix(trainRows)));
console.log(sizes.join('\n'));
console.log(`train per class: ${trainCounts.join(' ')}\ntest per class: ${testCounts.join(' ')}`);

/** The first TRAIN rows if every class has 75–125% of its fair share; else 400 per class. */
function pickTrainingRows(labels: Uint8Array): number[] {
  const prefix = Array.from({ length: TRAIN }, (_, i) => i);
  const fair = TRAIN / CLASSES;
  if (classCounts(labels, prefix).every((c) => c >= 0.75 * fair && c <= 1.25 * fair)) return prefix;
  const taken = new Array<number>(CLASSES).fill(0);
  const rows: number[] = [];
  for (let i = 0; i < labels.length && rows.length < TRAIN; i++) {
    if (taken[labels[i]] < fair) {
      taken[labels[i]]++;
      rows.push(i);
    }
  }
  return rows;
}

function selectRows(source: IdxArray, rows: number[]): [number[], Uint8Array] {
  const rowSize = source.dims.slice(1).reduce((a, b) => a * b, 1);
  const out = new Uint8Array(rows.length * rowSize);
  rows.forEach((r, k) => out.set(source.data.subarray(r * rowSize, (r + 1) * rowSize), k * rowSize));
  return [[rows.length, ...source.dims.slice(1)], out];
}

function classCounts(labels: Uint8Array, rows: number[]): number[] {
  const counts = new Array<number>(CLASSES).fill(0);
  for (const r of rows) counts[labels[r]]++;
  return counts;
}

function isPrefix(rows: number[]): boolean {
  return rows.every((r, i) => r === i);
}

function readme(train: number[], test: number[], prefix: boolean): string {
  const table = FASHION_MNIST_CLASSES.map((n, i) => `| ${i} | ${n} | ${train[i]} | ${test[i]} |`).join('\n');
  const how = prefix
    ? `the first ${TRAIN} images of the training set`
    : `the first ${TRAIN / CLASSES} images of each class of the training set, in their original order`;
  return `# Embedded Fashion-MNIST sample

A small subset of [Fashion-MNIST](https://github.com/zalandoresearch/fashion-mnist) so that
\`ridgeline\` trains and evaluates out of the box, offline, when no \`--data\` is given. For real
results use the full dataset (\`--data fashion-mnist\`, or \`ridgeline data fetch fashion-mnist --to DIR\`).

## Contents

IDX files in the original Fashion-MNIST layout and names, gzip-compressed:

- \`train-images-idx3-ubyte.gz\`, \`train-labels-idx1-ubyte.gz\`: ${how} (${train.reduce((a, b) => a + b)} images, 28×28).
- \`t10k-images-idx3-ubyte.gz\`, \`t10k-labels-idx1-ubyte.gz\`: the first ${TEST} images of the test set.

| label | class | train | test |
|---|---|---|---|
${table}

Pixels and labels are unmodified; only rows were selected.

## How it was made

\`node --import tsx tools/make-sample.ts\`, reading the full dataset from Debian's
\`dataset-fashion-mnist\` package (${DEBIAN_FASHION_MNIST}). The tool is deterministic.

## Attribution and license

Fashion-MNIST is by Zalando Research: Han Xiao, Kashif Rasul and Roland Vollgraf,
*Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms*, 2017,
arXiv:1708.07747. It is distributed under the MIT License:

\`\`\`
The MIT License (MIT)

Copyright (c) 2017 Zalando SE

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
\`\`\`
`;
}
