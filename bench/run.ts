/**
 * `npm run bench [-- --json] [-- --quick] [-- --only …] [-- --workload mlp|cnn|all] [-- --pairs N] [-- --out report.json]`
 * `npm run bench -- --sweep [--plot docs/figures/bench-sweep.svg]`, `npm run bench -- --render report.json`
 *
 * Training throughput of ridgeline (each kernel backend that loads), TensorFlow.js (cpu and
 * wasm) and PyTorch 1.13 (its configurations: bench/peers.ts) on the same pre-loaded batches of
 * Fashion-MNIST, for two workloads (bench/common.ts: the MLP and the README's CNN). Each ratio
 * comes from interleaved pairs (bench/pairs.ts); the machine's fp32 peak is measured in the same
 * run (bench/peak.ts). Every measurement runs in its own child process, one at a time
 * (bench/child.ts); this process loads the data, spawns, and reports (bench/report.ts,
 * bench/table.ts). The modes: measure.ts (the bench), sweep.ts (--sweep), table.ts (--render).
 *
 * Not part of `npm test`: timings depend on the machine and on whatever else it is running.
 */
import { readFileSync } from 'node:fs';
import { RidgelineError } from '../src/errors.js';
import { atomicWriteFile, writeError } from '../src/node/files.js';
import { log, UsageError } from './child.js';
import { cpuFlags } from './machine.js';
import { runBench } from './measure.js';
import { parseOptions, USAGE, type Options } from './options.js';
import { referenceSystem } from './peers.js';
import type { Report } from './report.js';
import { runSweep, type SweepReport } from './sweep.js';
import { writeSweepFigure } from './sweep_plot.js';
import { renderSweep, renderTable } from './table.js';

function readReport(path: string): Report | SweepReport {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--render: cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as Report | SweepReport;
  } catch (e) {
    throw new UsageError(`--render: ${path} is not a JSON report: ${(e as Error).message}`);
  }
}

const isSweep = (r: Report | SweepReport): r is SweepReport => (r as SweepReport).mode === 'sweep';

async function write(path: string, data: string): Promise<void> {
  try {
    await atomicWriteFile(path, data);
  } catch (e) {
    throw writeError(e, path);
  }
}

/** The report: to --out, as JSON on stdout with --json, else as the table; a sweep's figure to --plot. */
async function emit(o: Options, report: Report | SweepReport): Promise<void> {
  if (o.out) await write(o.out, `${JSON.stringify(report, null, 2)}\n`);
  const sweep = isSweep(report);
  if (o.plot && !sweep) throw new UsageError('--plot draws a sweep report (npm run bench -- --sweep)');
  if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(sweep ? renderSweep(report) : renderTable(report));
  // The figure last: a path it cannot write to loses nothing that was measured.
  if (o.plot && sweep) {
    try {
      for (const f of await writeSweepFigure(report, o.plot)) log(`wrote ${f}`);
    } catch (e) {
      throw writeError(e, o.plot);
    }
  }
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  if (o.mode === 'help') {
    process.stdout.write(USAGE(o.systems));
    return 0;
  }
  if (o.mode === 'render') {
    const saved = readReport(o.render!);
    if (!isSweep(saved)) {
      saved.workloads ??= ['mlp']; // reports from before the CNN workload
      saved.cnn ??= null;
    }
    await emit({ ...o, out: undefined, json: false }, saved);
    return 0;
  }
  const reference = referenceSystem(cpuFlags());
  if (o.mode === 'sweep') {
    const native = o.systems.find((s) => s.name === 'ridgeline-native')!;
    const { report, failures } = await runSweep({
      native, pytorch: o.selected.filter((s) => s.family === 'pytorch'), reference, widths: o.widths, batches: o.batches, pairs: o.pairs, quick: o.quick,
    });
    await emit(o, report);
    return failures > 0 ? 1 : 0;
  }
  const { report, failures } = await runBench({ selected: o.selected, workloads: o.workloads, quick: o.quick, pairs: o.pairs, reference, workloadOption: o.workloadOption });
  await emit(o, report);
  return failures > 0 ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (e) {
  if (e instanceof RidgelineError) {
    log(e.message);
    process.exitCode = e.exitCode;
  } else {
    throw e;
  }
}
