/**
 * The limit, measured in the same run: the machine's fp32 multiply-add peak on 1 and 2
 * threads, natively (bench/peak/fma.c, compiled here with the machine's C compiler at the
 * widest vector it has) and in WebAssembly (bench/peak/wasm.ts: 128-bit, relaxed SIMD's FMA
 * and SIMD128's multiply and add). Each system's model GFLOP/s is then reported as a share of
 * the peak its instructions can reach.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { log, nodeScript, runChild } from './child.js';
import { REPO_ROOT } from './common.js';

export const PEAK_SOURCE = join(REPO_ROOT, 'bench', 'peak', 'fma.c');
const WASM_PEAK_SCRIPT = join(REPO_ROOT, 'bench', 'peak', 'wasm.ts');

/** One thread count: the best repetition (the least disturbed: a peak is an upper bound) and all of them. */
export interface PeakPoint { threads: number; gflops: number; repetitions: number[] }

export type PeakSeries =
  | { label: string; instruction: string; lanes: number; chains: number; fused: boolean; points: PeakPoint[]; build?: string }
  | { label: string; skipped: string };

export type PeakKey = 'native' | 'wasm_relaxed' | 'wasm_simd128';
export type Peaks = Record<PeakKey, PeakSeries> & { seconds: number; repetitions: number };

export interface PeakTiming { seconds: number; repetitions: number }
export const PEAK_TIMING: Record<'full' | 'quick', PeakTiming> = { full: { seconds: 0.5, repetitions: 5 }, quick: { seconds: 0.05, repetitions: 1 } };

/** 1 and 2 threads (1 alone on a 1-core machine). */
export const peakThreadCounts = () => (os.availableParallelism() >= 2 ? [1, 2] : [1]);

const toPoint = (threads: number, repetitions: number[]): PeakPoint => ({ threads, gflops: Math.max(...repetitions), repetitions });

/**
 * Compiles bench/peak/fma.c into `dir`: `$CC` (default cc) -O2 -march=native, or without
 * -march=native where the compiler does not take it (then the baseline ISA). Returns the
 * program's path and the command, or why it could not be built.
 */
export function buildPeakProgram(dir: string): { path: string; build: string } | { error: string } {
  const cc = process.env.CC || 'cc';
  const path = join(dir, 'ridgeline-peak');
  let error = '';
  for (const march of [['-march=native'], []]) {
    const args = ['-O2', ...march, '-pthread', '-o', path, PEAK_SOURCE];
    const r = spawnSync(cc, args, { encoding: 'utf8' });
    if (r.status === 0) return { path, build: `${cc} ${args.join(' ')}` };
    error = r.error ? `${cc}: ${r.error.message}` : (r.stderr.trim().split('\n')[0] || `${cc} exited with ${r.status}`);
  }
  return { error: `could not compile ${PEAK_SOURCE}: ${error}` };
}

interface NativePeakOutput { isa: string; lanes: number; chains: number; fused: boolean; threads: number; gflops: number[] }

/** Runs the compiled program on `threads` threads; GFLOP/s of each repetition. */
export function runPeakProgram(path: string, threads: number, t: PeakTiming): NativePeakOutput {
  const r = spawnSync(path, [String(threads), String(t.seconds), String(t.repetitions)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${path} ${threads}: ${r.error?.message ?? r.stderr.trim()}`);
  return JSON.parse(r.stdout.trim()) as NativePeakOutput;
}

function nativePeak(threadCounts: number[], t: PeakTiming): PeakSeries {
  const label = 'native fp32 FMA peak';
  const dir = mkdtempSync(join(os.tmpdir(), 'ridgeline-peak-'));
  try {
    const built = buildPeakProgram(dir);
    if ('error' in built) return { label, skipped: built.error };
    const runs = threadCounts.map((n) => runPeakProgram(built.path, n, t));
    const first = runs[0];
    return {
      label, instruction: first.isa, lanes: first.lanes, chains: first.chains, fused: first.fused, build: built.build,
      points: runs.map((r) => toPoint(r.threads, r.gflops)),
    };
  } catch (e) {
    return { label, skipped: (e as Error).message };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type WasmPeakOutput = Record<'relaxed' | 'simd128', { instruction: string; fused: boolean; points: { threads: number; gflops: number[] }[] } | { skipped: string }> & { lanes: number; chains: number };

export async function measurePeaks(t: PeakTiming): Promise<Peaks> {
  const threads = peakThreadCounts();
  log(`peak: native, ${threads.join(' and ')} thread(s)…`);
  const native = nativePeak(threads, t);
  log(`peak: wasm…`);
  const outcome = await runChild(process.execPath, nodeScript(WASM_PEAK_SCRIPT, ['--threads', threads.join(','), '--seconds', String(t.seconds), '--repetitions', String(t.repetitions)]));
  const wasm = (variant: 'relaxed' | 'simd128', label: string): PeakSeries => {
    if (outcome.error || !outcome.result) return { label, skipped: `failed: ${outcome.error}` };
    const r = outcome.result as unknown as WasmPeakOutput;
    const v = r[variant];
    if ('skipped' in v) return { label, skipped: v.skipped };
    return { label, instruction: v.instruction, lanes: r.lanes, chains: r.chains, fused: v.fused, points: v.points.map((p) => toPoint(p.threads, p.gflops)) };
  };
  const peaks: Peaks = {
    native, wasm_relaxed: wasm('relaxed', 'wasm 128-bit relaxed-SIMD FMA peak'), wasm_simd128: wasm('simd128', 'wasm 128-bit SIMD128 multiply+add peak'),
    ...t,
  };
  for (const k of ['native', 'wasm_relaxed', 'wasm_simd128'] as const) {
    const p = peaks[k];
    log(`peak ${k}: ${'skipped' in p ? `skipped (${p.skipped})` : p.points.map((q) => `${q.threads}t ${q.gflops.toFixed(1)}`).join(', ')} GFLOP/s`);
  }
  return peaks;
}

/**
 * The peak a system's instructions can reach: native code (ridgeline native, PyTorch) the
 * native vector peak; ridgeline's wasm the relaxed-SIMD peak, or SIMD128's for its simd128
 * variant and for TF.js wasm (SIMD128, no relaxed SIMD); JavaScript (ridgeline js, TF.js cpu)
 * the native peak of one thread, the machine's limit for it. Taken at the system's thread count
 * (the largest measured that does not exceed it).
 */
export function peakFor(run: { name: string; threads: number | null; details?: Record<string, unknown> }, peaks: Peaks): { key: PeakKey; threads: number; gflops: number } | null {
  let key: PeakKey = 'native';
  let threads = run.threads ?? 1;
  if (run.name.startsWith('ridgeline-wasm')) key = run.details?.variant === 'simd128' ? 'wasm_simd128' : 'wasm_relaxed';
  else if (run.name === 'tfjs-wasm') key = 'wasm_simd128';
  else if (run.name === 'ridgeline-js' || run.name === 'tfjs-cpu') threads = 1;
  const series = peaks[key];
  if ('skipped' in series) return null;
  const point = [...series.points].reverse().find((p) => p.threads <= threads) ?? series.points[0];
  return { key, threads: point.threads, gflops: point.gflops };
}
