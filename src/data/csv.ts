/**
 * Numeric CSV with one example per row: optional header, optional integer label column, pixel
 * values 0–255 scaled to [0, 1] as for IDX, so a model trained on one format accepts the other.
 * Errors name the 1-based line as an editor shows it.
 */
import { DataError } from '../errors.js';
import { createDataset, type Dataset } from './dataset.js';

export interface CsvOptions {
  /** 'auto': with `features`, a row of features+1 cells has the label first and one of
   *  `features` cells has none; without `features`, the first column is the label. */
  labelColumn: 'first' | 'last' | 'none' | 'auto';
  /**
   * 'auto': the first row is a header when it has no empty cell and most of its cells are not
   * numbers (so a data row with one stray 'nan' or '' is a data row, and an error, not a header).
   */
  header: 'auto' | boolean;
  features?: number;
  shape?: number[];
  classes?: number;
  /** Names the input in error messages, usually the file path. */
  what: string;
}

export interface CsvData {
  images: Float32Array;
  labels: Int32Array | null;
  count: number;
  features: number;
}

export function parseCsv(text: string, options: CsvOptions): CsvData {
  const { what } = options;
  const classes = options.classes ?? 10;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  if (lines.length === 0) throw new DataError(`${what} is empty`);

  const first = splitRow(lines[0]);
  const hasHeader = options.header === 'auto'
    ? first.every((c) => c !== '') && first.filter((c) => parseNumber(c) === null).length * 2 > first.length
    : options.header;
  const start = hasHeader ? 1 : 0;
  if (start >= lines.length) throw new DataError(`${what} has a header but no data rows`);

  const columns = splitRow(lines[start]).length;
  const labelAt = labelPosition(options, columns, start + 1);
  const features = labelAt === 'none' ? columns : columns - 1;
  if (features < 1) throw new DataError(`${what}: line ${start + 1} has no feature columns`);
  if (options.features !== undefined && features !== options.features) {
    throw new DataError(
      `${what}: line ${start + 1} has ${columns} columns, expected ${options.features + (labelAt === 'none' ? 0 : 1)}`,
    );
  }
  if (options.shape !== undefined) {
    const size = options.shape.reduce((a, b) => a * b, 1);
    if (size !== features) {
      throw new DataError(`${what}: shape [${options.shape.join(', ')}] has ${size} values but rows have ${features} features`);
    }
  }

  const count = lines.length - start;
  const images = new Float32Array(count * features);
  const labels = labelAt === 'none' ? null : new Int32Array(count);
  const labelIndex = labelAt === 'last' ? columns - 1 : 0;
  const firstFeature = labelAt === 'first' ? 1 : 0;
  for (let r = 0; r < count; r++) {
    const line = r + start + 1;
    const cells = splitRow(lines[r + start]);
    if (cells.length !== columns) {
      const blank = cells.length === 1 && cells[0] === '' ? ' (blank line)' : '';
      throw new DataError(`${what}: line ${line} has ${cells.length} columns, expected ${columns}${blank}`);
    }
    const row = r * features;
    for (let j = 0; j < features; j++) {
      const col = firstFeature + j;
      const v = parseNumber(cells[col]);
      if (v === null) throw new DataError(`${what}: line ${line}, column ${col + 1}: '${cells[col]}' is not a number`);
      if (v < 0 || v > 255) {
        throw new DataError(`${what}: line ${line}, column ${col + 1}: pixel value ${v} is outside 0–255`);
      }
      images[row + j] = v / 255;
    }
    if (labels) {
      const cell = cells[labelIndex];
      const y = parseNumber(cell);
      if (y === null || !Number.isInteger(y)) {
        throw new DataError(`${what}: line ${line}, column ${labelIndex + 1}: label '${cell}' is not an integer`);
      }
      if (y < 0 || y >= classes) {
        throw new DataError(`${what}: line ${line}: label ${y} is out of range [0, ${classes})`);
      }
      labels[r] = y;
    }
  }
  return { images, labels, count, features };
}

/** A Dataset needs labels; prediction inputs without them go through parseCsv. */
export function csvToDataset(text: string, options: CsvOptions): Dataset {
  const csv = parseCsv(text, options);
  if (!csv.labels) {
    throw new DataError(`${options.what} has no label column, so it cannot be used for training or evaluation`);
  }
  return createDataset(csv.images, csv.labels, options.shape ?? [csv.features], options.classes ?? 10);
}

function labelPosition(options: CsvOptions, columns: number, line: number): 'first' | 'last' | 'none' {
  if (options.labelColumn !== 'auto') return options.labelColumn;
  const f = options.features;
  if (f === undefined || columns === f + 1) return 'first';
  if (columns === f) return 'none';
  throw new DataError(
    `${options.what}: line ${line} has ${columns} columns, expected ${f} (no label) or ${f + 1} (label first)`,
  );
}

function splitRow(line: string): string[] {
  return line.split(',').map((c) => {
    const t = c.trim();
    // Some exporters quote every cell; numeric data never needs quotes for anything else.
    return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t;
  });
}

/** A decimal number: Number() alone would read '' as 0 and accept 'Infinity', '0x1f', '0b11' and '0o7'. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
function parseNumber(cell: string): number | null {
  if (!DECIMAL.test(cell)) return null;
  const v = Number(cell);
  return Number.isFinite(v) ? v : null;
}
