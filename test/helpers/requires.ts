/**
 * Tests that need a Debian package skip on a machine without it, with a one-line reason that
 * names the package and the command that installs it; the run ends with a line counting them
 * (test/helpers/skip-summary.mjs). Under RIDGELINE_REQUIRE_ALL=1, which `.ci/run` sets, nothing
 * skips: the test runs and fails on what is missing, so CI runs every test.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/lib/chromium/chromium';
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** What the tests use, and the Debian package that provides it. */
export const PACKAGES = {
  chromium: { present: () => existsSync(CHROMIUM), what: `Chromium at ${CHROMIUM}` },
  'dataset-fashion-mnist': { present: () => existsSync(`${FASHION_MNIST_DIR}/train-images-idx3-ubyte.gz`), what: `Fashion-MNIST in ${FASHION_MNIST_DIR}` },
  'slurm-wlm': { present: () => ['/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/bin/sbatch'].every(existsSync), what: 'slurmctld, slurmd and sbatch' },
  munge: { present: () => existsSync('/usr/sbin/munged'), what: 'munged' },
  python3: { present: () => existsSync('/usr/bin/python3'), what: 'Python 3 at /usr/bin/python3' },
  'python3-torch': { present: () => pythonImports('torch'), what: 'PyTorch for /usr/bin/python3' },
  'build-essential': { present: () => spawnSync(process.env.CC || 'cc', ['--version'], { stdio: 'ignore' }).status === 0, what: 'a C compiler (cc)' },
  'python3-sklearn': { present: () => pythonImports('sklearn'), what: 'scikit-learn for /usr/bin/python3' },
} as const;
export type Package = keyof typeof PACKAGES;

function pythonImports(module: string): boolean {
  return existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}

/** `{ skip }` for node:test: false when every package is here (or RIDGELINE_REQUIRE_ALL=1), else the reason. */
export function requires(...packages: Package[]): { skip: string | false } {
  if (process.env.RIDGELINE_REQUIRE_ALL === '1') return { skip: false };
  const missing = packages.filter((p) => !PACKAGES[p].present());
  if (missing.length === 0) return { skip: false };
  return { skip: `needs ${missing.join(', ')} (${missing.map((p) => PACKAGES[p].what).join('; ')}): apt-get install ${missing.join(' ')}` };
}
