/**
 * The 128-bit peak that WebAssembly can reach on this machine, measured: CHAINS independent
 * f32x4 multiply-add chains per thread, in a module generated here, run on 1…N
 * `worker_threads` at once. Two variants: relaxed SIMD's `f32x4.relaxed_madd` (one FMA; on
 * Node 20 behind V8's flag, which src/kernels/wasm/node.ts sets) and SIMD128's `f32x4.mul`
 * then `f32x4.add` (two instructions, the same 8 FLOPs per chain step) — the limits of
 * ridgeline's two wasm variants.
 *
 *   node --import tsx bench/peak/wasm.ts --threads 1,2 --seconds S --repetitions R
 *
 * prints one JSON line: per variant, whether this runtime validates it, and GFLOP/s per thread count.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { allowRelaxedSimd } from '../../src/kernels/wasm/node.js';
import { assemble } from '../../wasm/build.js';

/** Accumulators per thread: enough to hide a 4-cycle latency on 2 ports, and few enough (plus 2 constants) for 16 xmm registers. */
export const WASM_CHAINS = 10;
/** Chain steps per call of `run`'s loop body, so the loop counter costs nothing. */
const UNROLL = 4;
const LANES = 4;

export type WasmPeakVariant = 'relaxed' | 'simd128';

/** The module: `run(n)` does n × UNROLL steps of every chain and returns their sum (so nothing is dropped). */
export function peakWat(variant: WasmPeakVariant): string {
  const acc = Array.from({ length: WASM_CHAINS }, (_, c) => `$a${c}`);
  const madd = (a: string) => variant === 'relaxed'
    ? `(local.set ${a} (f32x4.relaxed_madd (local.get ${a}) (local.get $m) (local.get $b)))`
    : `(local.set ${a} (f32x4.add (f32x4.mul (local.get ${a}) (local.get $m)) (local.get $b)))`;
  const body = Array.from({ length: UNROLL }, () => acc.map(madd).join('\n        ')).join('\n        ');
  const sum = acc.slice(1).reduce((s, a) => `(f32x4.add ${s} (local.get ${a}))`, `(local.get ${acc[0]})`);
  return `(module
  (func (export "run") (param $n i32) (result f32)
    (local $m v128) (local $b v128) (local $s v128) ${acc.map((a) => `(local ${a} v128)`).join(' ')}
    ;; acc <- acc*m + b converges to b / (1 - m) = 1: no overflow, no denormals.
    (local.set $m (f32x4.splat (f32.const 0.9999999)))
    (local.set $b (f32x4.splat (f32.const 1e-7)))
    ${acc.map((a, c) => `(local.set ${a} (f32x4.splat (f32.const ${(1 + 0.01 * c).toFixed(2)})))`).join('\n    ')}
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        ${body}
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.set $s ${sum})
    (f32.add (f32.add (f32x4.extract_lane 0 (local.get $s)) (f32x4.extract_lane 1 (local.get $s)))
             (f32.add (f32x4.extract_lane 2 (local.get $s)) (f32x4.extract_lane 3 (local.get $s))))))
`;
}

/** FLOPs of one call of run(n): a multiply-add is 2 FLOPs per lane, fused or not. */
export const peakFlops = (n: number) => 2 * LANES * WASM_CHAINS * UNROLL * n;

/** The worker: compiles the module, signals ready, waits for go, runs for `seconds`, reports calls and time. */
const WORKER_JS = `
const { parentPort, workerData } = require('node:worker_threads');
const { bytes, seconds, n } = workerData;
const run = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.run;
// Calls for 0.2 s first: V8 starts a function on its baseline compiler (Liftoff) and moves it
// to the optimizing one (TurboFan) once it has run for a while.
for (const t0 = performance.now(); performance.now() - t0 < 200;) run(n);
parentPort.postMessage('ready');
parentPort.once('message', () => {
  let calls = 0, sink = 0;
  const t0 = performance.now();
  let t = t0;
  do { sink += run(n); calls++; t = performance.now(); } while (t - t0 < seconds * 1000);
  parentPort.postMessage({ calls, elapsed: (t - t0) / 1000, sink });
});
`;

/** GFLOP/s of `threads` workers at once. */
async function measure(bytes: Uint8Array, threads: number, seconds: number): Promise<number> {
  const n = 20_000;
  const workers = Array.from({ length: threads }, () => new Worker(WORKER_JS, { eval: true, workerData: { bytes, seconds, n } }));
  try {
    await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => { w.once('message', () => resolve()); w.once('error', reject); })));
    const results = await Promise.all(workers.map((w) => new Promise<{ calls: number; elapsed: number }>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      w.postMessage('go');
    })));
    const flops = results.reduce((s, r) => s + peakFlops(n) * r.calls, 0);
    return flops / Math.max(...results.map((r) => r.elapsed)) / 1e9;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { threads: { type: 'string', default: '1,2' }, seconds: { type: 'string', default: '0.3' }, repetitions: { type: 'string', default: '3' } } });
  const threadCounts = values.threads.split(',').map(Number);
  const seconds = Number(values.seconds), reps = Number(values.repetitions);
  if (threadCounts.some((t) => !Number.isInteger(t) || t < 1) || !(seconds > 0) || !(Number.isInteger(reps) && reps >= 1)) {
    throw new Error('--threads takes positive integers, --seconds a positive number, --repetitions a positive integer');
  }
  allowRelaxedSimd();
  const out: Record<string, unknown> = { lanes: LANES, chains: WASM_CHAINS, node: process.versions.node, v8: process.versions.v8 };
  for (const variant of ['relaxed', 'simd128'] as const) {
    const bytes = await assemble(peakWat(variant), `peak-${variant}.wat`);
    if (!WebAssembly.validate(bytes)) {
      out[variant] = { skipped: `this runtime (V8 ${process.versions.v8}) does not validate ${variant === 'relaxed' ? 'relaxed SIMD' : 'SIMD128'}` };
      continue;
    }
    const points = [];
    for (const threads of threadCounts) {
      const gflops: number[] = [];
      for (let r = 0; r < reps; r++) gflops.push(await measure(bytes, threads, seconds));
      points.push({ threads, gflops });
    }
    out[variant] = { instruction: variant === 'relaxed' ? 'f32x4.relaxed_madd' : 'f32x4.mul + f32x4.add', fused: variant === 'relaxed', points };
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await main();
  } catch (e) {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.stdout.write(`${JSON.stringify({ error: (e as Error).message })}\n`);
    process.exitCode = 1;
  }
}
