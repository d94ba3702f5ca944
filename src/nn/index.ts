/**
 * nn/: layers (one per file, forward and backward together) and the Sequential model.
 * Imports kernels/ and tensor/ only; layers never loop over matrices themselves.
 */
export * from './layer.js';
export * from './dense.js';
export * from './activations.js';
export * from './dropout.js';
export * from './spec.js';
export * from './sequential.js';
export * from './conv2d.js';
export * from './maxpool2d.js';
export * from './avgpool2d.js';
export * from './flatten.js';
export * from './batchnorm.js';
export * from './layernorm.js';
