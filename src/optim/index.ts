/**
 * optim/: gradient transformations (init/update pairs), chain() and masked(), the optimizer
 * recipes, the fused step, learning-rate schedules and state (de)serialization. Imports tensor/,
 * the unit types and masks of regularization/, and the op vocabulary of kernels/.
 */
export * from './transform.js';
export * from './fused.js';
export * from './transforms.js';
export * from './schedule.js';
export * from './recipes.js';
export * from './state.js';
