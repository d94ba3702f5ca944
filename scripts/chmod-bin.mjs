// tsc writes dist/cli/main.js without the executable bit, and `npx ridgeline` in this
// package's own directory runs the bin file directly, so the build sets the bit itself.
import { chmodSync } from 'node:fs';

chmodSync(new URL('../dist/cli/main.js', import.meta.url), 0o755);
