/**
 * Errors a user can cause (bad files, bad options, a diverging run). The CLI prints their
 * message alone, without a stack trace, and exits with `exitCode`; anything else is a bug and
 * keeps its stack.
 */
export class RidgelineError extends Error {
  constructor(message: string, readonly exitCode: number = 2) {
    super(message);
    this.name = new.target.name;
  }
}

/** Malformed or inconsistent data files (IDX, CSV, safetensors, checkpoints). */
export class DataError extends RidgelineError {}

/** Invalid configuration: options, coefficients, model specs. */
export class ConfigError extends RidgelineError {}

/** The loss became NaN or infinite. Exit code 3 so scripts can tell it from bad input. */
export class DivergenceError extends RidgelineError {
  constructor(message: string) {
    super(message, 3);
  }
}
