/** Node-only parts of ridgeline: file I/O, datasets on disk, downloads and run directories. */
export * from './node/files.js';
export * from './node/datasets.js';
export * from './node/fetch.js';
export * from './node/run-dir.js';
