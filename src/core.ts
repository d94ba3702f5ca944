/**
 * ridgeline's library API, the browser-capable core: everything but backend selection, which
 * each platform's entry adds (./index.ts for browsers, ./index.node.ts for Node). Node-only
 * helpers (files, datasets on disk, downloads, run directories, the native backend) are in
 * `ridgeline/node`.
 */
export * from './errors.js';
export * from './kernels/index.js';
export * from './tensor/index.js';
export * from './nn/index.js';
export * from './loss/index.js';
export * from './optim/index.js';
export * from './regularization/index.js';
export * from './data/index.js';
export * from './format/safetensors.js';
export * from './format/model-file.js';
export * from './format/checkpoint.js';
export * from './train/trainer.js';
export * from './train/evaluate.js';
export * from './train/load-model.js';
