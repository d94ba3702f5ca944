/**
 * optim/: gradient transformations (init/update pairs), chain() and masked(), the optimizer
 * recipes, learning-rate schedules and state (de)serialization. Imports tensor/ and the unit
 * types and masks of regularization/.
 */
export * from './transform.js';
export * from './transforms.js';
export * from './schedule.js';
export * from './recipes.js';
export * from './state.js';
