/** `npm run bench -- …`: the command line, checked, as the options each mode takes. */
import { parseArgs } from 'node:util';
import { UsageError } from './child.js';
import { CNN_ARCH, WORKLOAD_NAMES, mlpSizes, type WorkloadName } from './common.js';
import { cpuFlags } from './machine.js';
import { coreChoices, pytorchSystems } from './peers.js';
import { SWEEP_BATCHES, SWEEP_WIDTHS } from './sweep.js';
import { RIDGELINE_AND_TFJS, selectSystems, type SystemSpec } from './systems.js';

/** Pairs per ratio by default: ≥ 5 for a measurement; 2 in --quick, a smoke run. The sweep: one per point (--pairs for more). */
export const DEFAULT_PAIRS = { full: 5, quick: 2, sweep: 1 } as const;

export const USAGE = (systems: SystemSpec[]) =>
  'usage: npm run bench -- [--json] [--quick] [--only <system,...>] [--skip <system,...>] [--workload mlp|cnn|all] [--pairs N] [--out report.json]\n' +
  '       npm run bench -- --sweep [--widths 256,512,...] [--batches 32,128,...] [--pairs N] [--quick] [--json] [--out sweep.json] [--plot figure.svg]\n' +
  '       npm run bench -- --render report.json [--plot figure.svg]   (the table of a saved JSON report, or a sweep\'s figure; runs nothing)\n' +
  `systems: ${systems.map((s) => s.name).join(', ')} (also js, wasm, native, ridgeline, tfjs, pytorch, and the start of a PyTorch name)\n` +
  `workloads: mlp (MLP ${mlpSizes().join('-')}), cnn (${CNN_ARCH}); default all\n` +
  `sweep: the MLP at widths ${SWEEP_WIDTHS.join(', ')} and batch sizes ${SWEEP_BATCHES.join(', ')}, ridgeline native against PyTorch's best\n`;

export interface Options {
  mode: 'help' | 'render' | 'sweep' | 'bench';
  json: boolean;
  quick: boolean;
  out?: string;
  render?: string;
  plot?: string;
  /** Every system this machine offers (the PyTorch configurations depend on its CPU and environment). */
  systems: SystemSpec[];
  selected: SystemSpec[];
  workloads: WorkloadName[];
  workloadOption: string;
  pairs: number;
  widths: number[];
  batches: number[];
}

/** `--workload`: mlp, cnn, or all (both, MLP first). */
function selectWorkloads(value: string): WorkloadName[] {
  const v = value.trim().toLowerCase();
  if (v === 'all') return [...WORKLOAD_NAMES];
  if ((WORKLOAD_NAMES as readonly string[]).includes(v)) return [v as WorkloadName];
  throw new UsageError(`--workload: unknown workload '${value}' (${WORKLOAD_NAMES.join(', ')}, all)`);
}

function positiveInt(option: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${option}: expected a positive integer, got '${value}'`);
  return n;
}

const intList = (option: string, value: string | undefined, fallback: readonly number[]) =>
  value === undefined ? [...fallback] : value.split(',').map((v) => positiveInt(option, v.trim()));

export function parseOptions(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean', default: false },
        quick: { type: 'boolean', default: false },
        only: { type: 'string', multiple: true },
        skip: { type: 'string', multiple: true },
        workload: { type: 'string', default: 'all' },
        pairs: { type: 'string' },
        out: { type: 'string' },
        render: { type: 'string' },
        sweep: { type: 'boolean', default: false },
        widths: { type: 'string' },
        batches: { type: 'string' },
        plot: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const systems = [...RIDGELINE_AND_TFJS, ...pytorchSystems(coreChoices(cpuFlags()))];
  const mode = values.help ? 'help' : values.render ? 'render' : values.sweep ? 'sweep' : 'bench';
  if (values.plot !== undefined && mode !== 'sweep' && mode !== 'render') throw new UsageError('--plot goes with --sweep or --render of a sweep report');
  return {
    mode, json: values.json, quick: values.quick, out: values.out, render: values.render, plot: values.plot, systems,
    selected: selectSystems(systems, values.only, values.skip),
    workloads: selectWorkloads(values.workload),
    workloadOption: values.workload,
    pairs: values.pairs !== undefined ? positiveInt('--pairs', values.pairs)
      : mode === 'sweep' ? DEFAULT_PAIRS.sweep : values.quick ? DEFAULT_PAIRS.quick : DEFAULT_PAIRS.full,
    widths: intList('--widths', values.widths, SWEEP_WIDTHS),
    batches: intList('--batches', values.batches, SWEEP_BATCHES),
  };
}
