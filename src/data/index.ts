/**
 * data/: pure data formats (IDX, CSV) and in-memory datasets with their splits.
 * No Node APIs here, so it also runs in browsers and workers; file and network I/O live in src/node/.
 */
export * from './dataset.js';
export * from './idx.js';
export * from './csv.js';
export * from './bytes.js';
