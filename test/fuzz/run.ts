/**
 * `npm run fuzz -- --cases N [--seed S] [--only NAME]`: the fuzz targets at a long budget,
 * one line of counts per target (clean / accepted / garbage / stack / hang / memory) and the
 * first inputs of each bad outcome; exits 1 when any case is bad.
 */
import { fuzz, TARGETS } from './targets.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
};
const cases = Number(arg('cases', '2000'));
const seed = Number(arg('seed', String(Date.now() % 2 ** 31)));
const only = arg('only', '');
if (!(Number.isInteger(cases) && cases > 0)) {
  process.stderr.write(`fuzz: --cases must be a positive integer, got ${arg('cases', '')}\n`);
  process.exit(2);
}
let failed = false;
for (const target of TARGETS.filter((t) => !only || t.name.includes(only))) {
  const started = Date.now();
  const { counts, bad } = await fuzz(target, cases, seed);
  const line = Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ');
  process.stdout.write(`${target.name.padEnd(34)} ${cases} cases (seed ${seed}, ${((Date.now() - started) / 1000).toFixed(1)} s): ${line}\n`);
  for (const b of bad) {
    failed = true;
    process.stdout.write(`  ${b.outcome}: ${JSON.stringify(b.input instanceof Uint8Array ? Array.from(b.input.subarray(0, 48)) : b.input).slice(0, 240)}\n    ${b.error ?? ''}\n`);
  }
}
process.exit(failed ? 1 : 0);
