import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { csvToDataset, parseCsv, type CsvOptions } from '../../src/data/csv.js';
import { DataError } from '../../src/errors.js';
import { loadCsvFile } from '../../src/node/datasets.js';

const opts = (o: Partial<CsvOptions> = {}): CsvOptions => ({ labelColumn: 'first', header: 'auto', what: 'in.csv', ...o });
const rejects = (text: string, o: Partial<CsvOptions>, message: string) =>
  assert.throws(() => parseCsv(text, opts(o)), (e: unknown) => e instanceof DataError && e.message === message);

describe('parseCsv', () => {
  it('detects a header and reads the first column as the label', () => {
    const csv = parseCsv('label,p1,p2,p3\n3,0,255,51\n7,102,0,0\n', opts());
    assert.equal(csv.count, 2);
    assert.equal(csv.features, 3);
    assert.deepEqual(Array.from(csv.labels!), [3, 7]);
    assert.deepEqual(Array.from(csv.images), [0, 1, 0.2, 0.4, 0, 0].map(Math.fround));
  });

  it('treats an all-numeric first row as data', () => {
    const csv = parseCsv('1,0,0\n2,255,255', opts());
    assert.equal(csv.count, 2);
    assert.deepEqual(Array.from(csv.labels!), [1, 2]);
  });

  it('honours an explicit header flag', () => {
    assert.equal(parseCsv('9,9,9\n1,0,0\n', opts({ header: true })).count, 1);
    rejects('a,b\n1,2\n', { header: false }, "in.csv: line 1, column 2: 'b' is not a number");
  });

  it('reads the label from the last column, or no label at all', () => {
    const last = parseCsv('0,255,4\n51,0,9\n', opts({ labelColumn: 'last' }));
    assert.deepEqual(Array.from(last.labels!), [4, 9]);
    assert.deepEqual(Array.from(last.images), [0, 1, 0.2, 0].map(Math.fround));
    const none = parseCsv('0,255,4\n', opts({ labelColumn: 'none' }));
    assert.equal(none.labels, null);
    assert.equal(none.features, 3);
  });

  it("'auto' uses the feature count to decide whether a label is present", () => {
    const withLabel = parseCsv('5,0,0\n', opts({ labelColumn: 'auto', features: 2 }));
    assert.deepEqual(Array.from(withLabel.labels!), [5]);
    assert.equal(withLabel.features, 2);
    const without = parseCsv('5,0\n', opts({ labelColumn: 'auto', features: 2 }));
    assert.equal(without.labels, null);
    assert.deepEqual(Array.from(without.images), [5 / 255, 0].map(Math.fround));
    rejects('1,2,3,4\n', { labelColumn: 'auto', features: 2 },
      'in.csv: line 1 has 4 columns, expected 2 (no label) or 3 (label first)');
    assert.deepEqual(Array.from(parseCsv('5,0,0\n', opts({ labelColumn: 'auto' })).labels!), [5]);
  });

  it('names the line of a ragged row', () => {
    rejects('label,a,b\n1,0,0\n2,0,0\n3,0\n', {}, 'in.csv: line 4 has 2 columns, expected 3');
    rejects('1,0,0\n\n2,0,0\n', {}, 'in.csv: line 2 has 1 columns, expected 3 (blank line)');
  });

  it('names line and column of a non-numeric cell', () => {
    rejects('label,a,b\n1,0,0\n2,0,abc\n', {}, "in.csv: line 3, column 3: 'abc' is not a number");
    rejects('1,0,\n', {}, "in.csv: line 1, column 3: '' is not a number");
  });

  it('rejects bad labels and pixel values', () => {
    rejects('1.5,0,0\n', {}, "in.csv: line 1, column 1: label '1.5' is not an integer");
    rejects('1,0,0\n10,0,0\n', {}, 'in.csv: line 2: label 10 is out of range [0, 10)');
    assert.equal(parseCsv('10,0,0\n', opts({ classes: 11 })).labels![0], 10);
    rejects('1,0,256\n', {}, 'in.csv: line 1, column 3: pixel value 256 is outside 0–255');
  });

  it('handles CRLF, a BOM, quoted cells and trailing blank lines', () => {
    const csv = parseCsv('\uFEFF"label","x","y"\r\n4,"51",0\r\n6,0,255\r\n\r\n  \n', opts());
    assert.equal(csv.count, 2);
    assert.deepEqual(Array.from(csv.labels!), [4, 6]);
    assert.deepEqual(Array.from(csv.images), [0.2, 0, 0, 1].map(Math.fround));
  });

  it('rejects empty input and a header without rows', () => {
    rejects('', {}, 'in.csv is empty');
    rejects('\r\n\n', {}, 'in.csv is empty');
    rejects('label,a\n', {}, 'in.csv has a header but no data rows');
  });

  it('checks the declared feature count and shape', () => {
    rejects('1,0,0,0\n', { features: 2 }, 'in.csv: line 1 has 4 columns, expected 3');
    rejects('1,0,0,0\n', { shape: [2, 2] }, 'in.csv: shape [2, 2] has 4 values but rows have 3 features');
  });
});

describe('csvToDataset', () => {
  it('uses the given shape, or [features] without one', () => {
    assert.deepEqual(csvToDataset('1,0,0,0,0\n', opts({ shape: [1, 2, 2] })).shape, [1, 2, 2]);
    const ds = csvToDataset('1,0,0,0,0\n2,0,0,0,0\n', opts());
    assert.deepEqual(ds.shape, [4]);
    assert.equal(ds.count, 2);
    assert.equal(ds.classes, 10);
  });

  it('refuses data without labels', () => {
    assert.throws(() => csvToDataset('0,0\n', opts({ labelColumn: 'none' })), /in\.csv has no label column/);
  });
});

describe('loadCsvFile', () => {
  it('reads plain and gzipped files and names the path in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ridgeline-csv-'));
    try {
      const text = 'label,a,b\n3,0,255\n';
      await writeFile(join(dir, 'a.csv'), text);
      await writeFile(join(dir, 'b.csv.gz'), gzipSync(text));
      for (const name of ['a.csv', 'b.csv.gz']) {
        const csv = await loadCsvFile(join(dir, name), { labelColumn: 'first', header: 'auto' });
        assert.deepEqual(Array.from(csv.labels!), [3]);
        assert.deepEqual(Array.from(csv.images), [0, 1]);
      }
      await writeFile(join(dir, 'bad.csv'), '1,x\n');
      await assert.rejects(loadCsvFile(join(dir, 'bad.csv'), { labelColumn: 'first', header: false }),
        { message: `${join(dir, 'bad.csv')}: line 1, column 2: 'x' is not a number` });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('CSV garbage is refused, never read as a header or as pixels', () => {
  const opts: CsvOptions = { labelColumn: 'first', header: 'auto', what: 'x.csv' };
  const row = (first: string) => `3,${first},${new Array(782).fill(0).join(',')}`;
  it('a nan, inf, empty or 1_0 cell in the first data row is an error on that row, not a header', () => {
    for (const cell of ['nan', 'inf', '', '1_0', 'Infinity']) {
      assert.throws(() => parseCsv(`${row(cell)}\n${row('0')}\n`, opts), (e: unknown) => e instanceof DataError && /x\.csv: line 1, column 2/.test(e.message), JSON.stringify(cell));
    }
  });
  it('hex, octal and binary numbers are not pixels', () => {
    for (const cell of ['0x1f', '0o17', '0b11']) {
      assert.throws(() => parseCsv(`${row('0')}\n${row(cell)}\n`, opts), (e: unknown) => e instanceof DataError && /line 2, column 2: '0[xob]/.test(e.message), cell);
    }
  });
  it('a real header is still a header; signs, decimals and exponents are numbers', () => {
    const header = ['label', ...Array.from({ length: 783 }, (_, i) => `pixel${i + 1}`)].join(',');
    const csv = parseCsv(`${header}\n${row('1.5e2')}\n${row('+.5')}\n`, opts);
    assert.equal(csv.count, 2);
    assert.equal(csv.images[0], Math.fround(150 / 255));
    assert.equal(csv.images[csv.features], Math.fround(0.5 / 255));
  });
});
