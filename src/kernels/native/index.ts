/** Placeholder until the native addon lands: the loader reports that it is not built. */
import type { Backend } from '../backend.js';

export function loadNativeBackend(): Backend {
  throw new Error('the native addon is not part of this build yet');
}
