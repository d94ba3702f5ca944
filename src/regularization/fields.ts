/**
 * How errors and notes name what a caller set: the field of the argument it came in, as a
 * library user writes it (`context.batch` of regularizationTerm and convert, `options.decay` of
 * compileRegularization). The CLI prints its flags instead (src/cli/flags.ts maps these names).
 */
import type { ContextKey } from './conventions.js';
import type { RegularizationOptions } from './compile.js';

export const contextField = (key: ContextKey | 'optimizer'): string => `context.${key}`;

export const regularizationField = (key: keyof RegularizationOptions): string => `options.${key}`;
