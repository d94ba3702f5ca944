/** tensor/: named parameters, the seeded RNG and initializers. Imports nothing else of ridgeline. */
export * from './rng.js';
export * from './param.js';
export * from './init.js';
