/**
 * The PyTorch configurations the bench compares ridgeline with, and how "PyTorch best" is
 * chosen: the fastest configuration whose results are correct.
 *
 * Configurations: OpenBLAS's kernels (OPENBLAS_CORETYPE unset, so OpenBLAS picks by cpuid;
 * forced to its AVX-512 kernels where the CPU has them; the environment's own setting, if it
 * sets one) × 1 and 2 threads (2: OpenMP workers spinning or passive) × glibc's malloc or a
 * caching one. Debian's torch runs its dense layers on the system OpenBLAS and its
 * convolutions on oneDNN (which picks its own ISA), so the kernel choice matters most for the
 * MLP. OpenBLAS 0.3.21 picks its generic Prescott kernels on CPUs it does not know (an Intel
 * Xeon model 207 here); forcing SkylakeX gives it the AVX-512 ones.
 *
 * Correctness: every configuration trains CHECK_STEPS steps from the same initial weights after
 * its timed steps (torch_step.py --check-steps), and its loss must equal the reference
 * configuration's (1 thread, glibc malloc, OpenBLAS's AVX2 kernels) within CHECK_TOLERANCE;
 * one that does not is reported and excluded from "PyTorch best".
 */
import { log } from './child.js';
import { timingFor, type WorkloadName } from './common.js';
import type { PeerEntry, PeersSection } from './report.js';
import { runSystem, type RunContext, type SystemRun, type SystemSpec } from './systems.js';

/** The OpenBLAS core type that forces its AVX-512 kernels (Cooperlake adds only bf16 routines to it). */
export const AVX512_CORETYPE = 'SkylakeX';
/** The reference's kernels: AVX2, what the README's runs used (the environment of the project's machine). */
export const AVX2_CORETYPE = 'Haswell';

/**
 * Steps of the correctness check. Rounding differences between kernels grow as training goes
 * (the CNN's BatchNorm at lr 0.05): between OpenBLAS's Prescott, Haswell and SkylakeX kernels
 * on 1 and 2 threads the CNN's loss differed by ≤ 4e-5 relative after 5 steps, but by 3e-3
 * after 10 and 1.5e-2 after 20 (the MLP's by ≤ 2e-7 after 20). A wrong kernel is off after one
 * step.
 */
export const CHECK_STEPS = 5;
export const CHECK_TOLERANCE = 1e-3;

/** How a configuration sets OpenBLAS's kernels. */
export interface CoreChoice {
  /** In the system's name: unset, avx512, env. */
  key: 'unset' | 'avx512' | 'env';
  /** OPENBLAS_CORETYPE's value, or null to remove it. */
  coretype: string | null;
  note: string;
}

/** The core-type settings worth measuring on this CPU, each once (the environment's only when it differs). */
export function coreChoices(flags: Set<string>, envCoretype: string | undefined = process.env.OPENBLAS_CORETYPE): CoreChoice[] {
  const out: CoreChoice[] = [{ key: 'unset', coretype: null, note: 'OPENBLAS_CORETYPE unset: OpenBLAS picks its kernels by cpuid' }];
  if (flags.has('avx512f')) out.push({ key: 'avx512', coretype: AVX512_CORETYPE, note: `OPENBLAS_CORETYPE=${AVX512_CORETYPE}: OpenBLAS's AVX-512 kernels` });
  const env = envCoretype?.trim();
  if (env && !out.some((c) => c.coretype?.toLowerCase() === env.toLowerCase())) {
    out.push({ key: 'env', coretype: env, note: `OPENBLAS_CORETYPE=${env}, as this environment sets it` });
  }
  return out;
}

const torchThreads = (n: number) => ({ OMP_NUM_THREADS: String(n), OPENBLAS_NUM_THREADS: String(n), MKL_NUM_THREADS: String(n) });

/**
 * glibc malloc keeps freed blocks of any size for reuse (no mmap per tensor, no trimming).
 * PyTorch allocates every activation and gradient anew each step; glibc hands allocations this
 * large to mmap and returns them on free, so each step page-faults its tensors in again. On a
 * Firecracker VM (where a fault is expensive) that tripled PyTorch's CNN step on one thread
 * (218 → 91 ms). PyTorch's CPU tuning guide prescribes a caching allocator (jemalloc,
 * tcmalloc); glibc's own thresholds do the same without installing one.
 */
export const CACHING_MALLOC = 'glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=68719476736';

/** Thread and allocator variants: 1 thread; 2 threads with OpenMP workers spinning (the default) or passive; each with either malloc. */
const VARIANTS = [
  { suffix: '1t', threads: 1, passive: false },
  { suffix: '2t', threads: 2, passive: false },
  { suffix: '2t-passive', threads: 2, passive: true },
] as const;

export function pytorchSystems(cores: CoreChoice[]): SystemSpec[] {
  const out: SystemSpec[] = [];
  for (const core of cores) {
    for (const malloc of [false, true]) {
      for (const v of VARIANTS) {
        const notes = [core.note];
        if (v.passive) notes.push('OMP_WAIT_POLICY=PASSIVE: idle OpenMP workers sleep instead of spinning next to OpenBLAS\'s own threads');
        if (malloc) notes.push(`GLIBC_TUNABLES=${CACHING_MALLOC}: freed tensors are reused instead of unmapped (a caching allocator, as PyTorch's CPU tuning guide advises)`);
        out.push({
          name: `pytorch-${core.key}-${v.suffix}${malloc ? '-malloc' : ''}`, family: 'pytorch', backend: 'cpu', threads: v.threads,
          env: {
            ...torchThreads(v.threads), OPENBLAS_CORETYPE: core.coretype,
            ...(v.passive ? { OMP_WAIT_POLICY: 'PASSIVE' } : {}), ...(malloc ? { GLIBC_TUNABLES: CACHING_MALLOC } : {}),
          },
          note: notes.join('; '),
        });
      }
    }
  }
  return out;
}

/** The reference for the correctness check: 1 thread, glibc malloc, AVX2 kernels where the CPU has them (else OpenBLAS's own pick). */
export function referenceSystem(flags: Set<string>): SystemSpec {
  const coretype = flags.has('avx2') ? AVX2_CORETYPE : null;
  return {
    name: 'pytorch-reference', family: 'pytorch', backend: 'cpu', threads: 1, env: { ...torchThreads(1), OPENBLAS_CORETYPE: coretype },
    note: `the correctness reference: 1 thread, OPENBLAS_CORETYPE=${coretype ?? '(unset)'}, ${CHECK_STEPS} steps, not timed`,
  };
}

export interface CheckResult {
  steps: number;
  loss: number | null;
  reference_loss: number | null;
  relative_difference: number | null;
  correct: boolean;
  /** Why the configuration is left out of "PyTorch best". */
  excluded?: string;
}

/** The check of one configuration's run against the reference's loss. */
export function checkRun(run: SystemRun, referenceLoss: number | null): CheckResult {
  const loss = run.check?.loss ?? null;
  const base = { steps: run.check?.steps ?? CHECK_STEPS, loss, reference_loss: referenceLoss };
  if (referenceLoss === null || !Number.isFinite(referenceLoss)) return { ...base, relative_difference: null, correct: false, excluded: 'the reference configuration did not run, so nothing could be checked' };
  if (loss === null || !Number.isFinite(loss)) return { ...base, relative_difference: null, correct: false, excluded: `no finite loss after ${base.steps} check steps` };
  const rel = Math.abs(loss - referenceLoss) / Math.abs(referenceLoss);
  return rel <= CHECK_TOLERANCE
    ? { ...base, relative_difference: rel, correct: true }
    : { ...base, relative_difference: rel, correct: false, excluded: `loss ${loss} after ${base.steps} steps differs from the reference's ${referenceLoss} by ${rel.toExponential(2)} relative (> ${CHECK_TOLERANCE})` };
}

/** The fastest run among those that ran and passed the check. */
export function fastestCorrect<T extends { samples_per_s: number | null }>(runs: { run: T; check: CheckResult }[]): T | null {
  let best: T | null = null;
  for (const { run, check } of runs) {
    if (check.correct && run.samples_per_s !== null && (best === null || run.samples_per_s > best.samples_per_s!)) best = run;
  }
  return best;
}

const coretypeOf = (s: SystemSpec) => (s.env?.OPENBLAS_CORETYPE ?? null);
const openblasCore = (r: SystemRun) => ((r.details?.openblas as { core?: string } | null | undefined)?.core ?? null);

/**
 * Every PyTorch configuration once, with the workload's timing and the correctness check, after
 * the reference's check: the runs (for the systems table), the section for the report, and the
 * fastest correct configuration.
 */
export async function screenPeers(ctx: RunContext, workload: WorkloadName, configs: SystemSpec[], reference: SystemSpec):
Promise<{ runs: SystemRun[]; peers: PeersSection; best: SystemSpec | null; failures: number }> {
  const checkArgs = ['--check-steps', String(CHECK_STEPS)];
  let failures = 0;
  log(`${reference.name}${workload === 'mlp' ? '' : ` [${workload}]`}: ${CHECK_STEPS} check steps…`);
  const ref = await runSystem(reference, ctx, workload, { warmupSteps: 0, seconds: 0, repetitions: 0 }, 'screen', checkArgs);
  if (ref.failed) failures++;
  const referenceLoss = ref.run.check?.loss ?? null;
  const runs: SystemRun[] = [];
  const checked: { run: SystemRun; check: CheckResult; spec: SystemSpec }[] = [];
  for (const spec of configs) {
    const { run, failed } = await runSystem(spec, ctx, workload, timingFor(workload, ctx.quick), 'screen', checkArgs);
    if (failed) failures++;
    runs.push(run);
    if (run.samples_per_s === null) continue;
    const check = checkRun(run, referenceLoss);
    run.details = { ...run.details, check };
    if (!check.correct) log(`${spec.name}: EXCLUDED (${check.excluded})`);
    checked.push({ run, check, spec });
  }
  const bestRun = fastestCorrect(checked);
  const best = bestRun ? configs.find((c) => c.name === bestRun.name)! : null;
  const entries: PeerEntry[] = configs.map((spec) => {
    const run = runs.find((r) => r.name === spec.name)!;
    return {
      name: spec.name, threads: spec.threads ?? null, openblas_coretype: coretypeOf(spec), openblas_core: openblasCore(run),
      samples_per_s: run.samples_per_s, check: checked.find((c) => c.spec === spec)?.check ?? null,
    };
  });
  if (best) log(`PyTorch best${workload === 'mlp' ? '' : ` [${workload}]`}: ${best.name} (the fastest of ${checked.filter((c) => c.check.correct).length} correct configurations)`);
  return {
    runs, best, failures,
    peers: {
      reference: {
        name: reference.name, openblas_coretype: coretypeOf(reference), openblas_core: openblasCore(ref.run), loss: referenceLoss,
        ...(ref.run.skipped ? { skipped: ref.run.skipped } : {}),
      },
      check_steps: CHECK_STEPS, tolerance: CHECK_TOLERANCE, configurations: entries, best: best?.name ?? null,
    },
  };
}
