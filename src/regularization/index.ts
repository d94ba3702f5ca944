/**
 * regularization/: coefficients with units (λ_E, decoupled decays), every framework's
 * convention and the converter between them, regularization terms (plans), masks that pick
 * the decayed parameters, the penalty's value and the canonical summary. Imports tensor/ and
 * kernels/ only.
 */
export * from './units.js';
export * from './mask.js';
export * from './penalty.js';
export * from './conventions.js';
export * from './convert.js';
export * from './plan.js';
export * from './mup.js';
export * from './shrink.js';
export * from './compile.js';
export * from './summary.js';
