/**
 * regularization/: coefficients with units (λ_E, decoupled decays), masks that pick the
 * decayed parameters, the penalty's value and the canonical summary. Imports kernels/ and
 * tensor/ only.
 */
export * from './units.js';
export * from './mask.js';
export * from './penalty.js';
export * from './summary.js';
