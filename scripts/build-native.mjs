#!/usr/bin/env node
/**
 * Builds the optional native addon (native/ → native/build/Release/ridgeline_native.node) with
 * npm's bundled node-gyp against the running node's own headers, so nothing is downloaded.
 * Runs as the package's `install` script and as `npm run build:native`.
 *
 * Never fails the install: when the addon cannot be built (RIDGELINE_NO_NATIVE=1, no node-gyp,
 * no headers, no compiler or Python, no CBLAS) it prints one line saying why and exits 0;
 * ridgeline then uses the WASM or JS backend. The full node-gyp output of a failed build is kept
 * in native/build-native.log.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = path.join(root, 'native');
const logFile = path.join(nativeDir, 'build-native.log');
const addon = path.join(nativeDir, 'build', 'Release', 'ridgeline_native.node');

function skip(reason) {
  console.log(`ridgeline: native addon not built (${reason}); using the WASM or JS backend`);
  process.exit(0);
}

try {
  build();
} catch (e) {
  skip(`unexpected error: ${String(e?.message ?? e).split('\n')[0]}`);
}

function build() {
  if (process.env.RIDGELINE_NO_NATIVE === '1') skip('RIDGELINE_NO_NATIVE=1');
  if (!existsSync(path.join(nativeDir, 'binding.gyp'))) skip(`no ${path.relative(root, nativeDir)}/binding.gyp`);

  // npm sets npm_config_node_gyp for scripts it runs; otherwise use the copy bundled with npm.
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  ].filter(Boolean);
  const nodeGyp = candidates.find((p) => existsSync(p));
  if (!nodeGyp) skip('node-gyp not found (run it through npm: npm run build:native)');

  // The headers of the node that is running: a Linux/macOS install puts them in <prefix>/include/node.
  const nodedir = path.dirname(path.dirname(process.execPath));
  const header = path.join(nodedir, 'include', 'node', 'node_api.h');
  if (!existsSync(header)) skip(`node headers not found at ${header}`);

  const r = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`, `--directory=${nativeDir}`], {
    cwd: root, encoding: 'utf8', env: { ...process.env, npm_config_nodedir: nodedir },
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error || r.status !== 0) {
    writeFileSync(logFile, output || String(r.error));
    skip(`${diagnose(output, r.error)}; log in ${path.relative(root, logFile)}`);
  }

  // Built is not enough: the shared library must also resolve at load time.
  try {
    const mod = createRequire(import.meta.url)(addon);
    const info = mod.blasInfo().trim();
    console.log(`ridgeline: native addon built (${info})`);
  } catch (e) {
    skip(`built but does not load: ${String(e?.message ?? e).split('\n')[0]}`);
  }
}

/** The one-line cause of a failed node-gyp run, from its output. */
function diagnose(output, error) {
  if (error) return `node-gyp did not run: ${error.message}`;
  const rules = [
    [/cblas\.h: No such file/, () => 'cblas.h not found: install libopenblas-dev'],
    [/cannot find -lopenblas|library not found for -lopenblas/, () => 'libopenblas not found: install libopenblas-dev'],
    [/Could not find any Python/, () => 'Python 3 not found (node-gyp needs it)'],
    [/FileNotFoundError: .*No such file or directory: '([^']+)'/, (m) => `${m[1]} not found (a C compiler is needed: install build-essential)`],
    [/make: (.*: )?not found|spawn make ENOENT|make: No such file/, () => 'make not found (install build-essential)'],
    [/(?:^|\s)(cc|gcc|clang): (?:command )?not found/m, (m) => `${m[1]} not found (a C compiler is needed: install build-essential)`],
  ];
  for (const [re, reason] of rules) {
    const m = output.match(re);
    if (m) return reason(m);
  }
  const lines = output.split('\n').map((l) => l.trim());
  const line = lines.find((l) => /: (fatal )?error: /.test(l)) // the compiler's or linker's own message
    ?? lines.find((l) => /^\w+Error: /.test(l))                // a Python exception inside gyp
    ?? lines.find((l) => /^gyp ERR! (stack )?Error: /.test(l))
    ?? 'node-gyp failed';
  return line.slice(0, 200);
}
