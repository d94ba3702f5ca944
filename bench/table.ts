/** The readable report: the table `npm run bench` prints (and `--render` prints for a saved JSON report). */
import { mlpSizes } from './common.js';
import { plural, sps, times } from './format.js';
import { fmtLoad } from './machine.js';
import type { PairResult } from './pairs.js';
import type { PeakSeries, Peaks } from './peak.js';
import { CACHING_MALLOC } from './peers.js';
import { modelGflops, type PeersSection, type Ratios, type Report, type SystemRow, type WorkloadResult } from './report.js';
import type { SweepReport, SweepSide } from './sweep.js';

export function table(header: string[], rows: string[][], rightAlign: (col: number) => boolean): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, c) => (rightAlign(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}


/** What a row ran on: PyTorch's OpenBLAS kernels and its check, ridgeline's GEMM or wasm variant. */
function kernels(s: SystemRow): string {
  const d = s.details ?? {};
  if (s.name.startsWith('pytorch-') && d.openblas !== undefined) {
    const core = (d.openblas as { core?: string } | null | undefined)?.core ?? '?';
    const check = d.check as { correct: boolean; relative_difference: number | null } | undefined;
    const verdict = !check ? '' : check.correct ? `, check ok (Δ ${check.relative_difference!.toExponential(0)})` : ', EXCLUDED: check failed';
    return `OpenBLAS ${core}, ATen ${d.aten_cpu_capability ?? '?'}${verdict}`;
  }
  if (typeof d.gemm === 'string') return `GEMM ${d.gemm}`;
  if (typeof d.variant === 'string') return String(d.variant);
  if (s.name === 'tfjs-wasm') return `SIMD ${d.simd}, threads ${d.multithread}`;
  return '';
}

/** One workload's systems: samples/s (median of its runs), spread, CPU, RSS, model GFLOP/s and its share of the peak. */
function systemsTable(w: Pick<WorkloadResult, 'systems' | 'percent_of_peak'>, flopsPerSample: number): string[] {
  const rows = w.systems.map((s) => {
    if (s.samples_per_s === null) return [s.name, s.threads === null ? '—' : String(s.threads), `skipped: ${s.skipped}`, '', '', '', '', '', ''];
    const reps = s.timing!.repetitions;
    const rates = reps.map((p) => p.samples_per_s);
    const runs = s.runs?.length ?? 1;
    const share = w.percent_of_peak?.[s.name];
    return [
      s.name, s.threads === null ? '?' : String(s.threads), sps(s.samples_per_s),
      `${sps(Math.min(...rates))}–${sps(Math.max(...rates))} (${plural(runs, 'run')}, ${plural(reps.reduce((n, p) => n + p.steps, 0), 'step')})`,
      s.timing!.cpu_utilization.toFixed(2),
      s.peak_rss_mb === undefined ? '—' : `${s.peak_rss_mb.toFixed(0)} MB`,
      modelGflops(s.samples_per_s, flopsPerSample).toFixed(2),
      share ? `${share.percent.toFixed(1)}%` : '—',
      kernels(s),
    ];
  });
  const out = table(['system', 'threads', 'samples/s', 'range (runs, timed steps)', 'CPU util', 'peak RSS', 'model GFLOP/s', '% of peak', 'kernels'],
    rows, (c) => c >= 2 && c <= 7);
  out.push('  samples/s: median over the system\'s runs (each a process: its own run, the sides of its pairs, the PyTorch screen), each after a warm-up;',
    '  CPU util = process CPU time / wall time (median);',
    `  model GFLOP/s = samples/s × ${(flopsPerSample / 1e6).toFixed(2)} MFLOP per example (3 × forward, conv and dense layers);`,
    '  % of peak: of the measured peak its instructions can reach at its thread count (native vector FMA for native code and JavaScript, wasm 128-bit for wasm).');
  const over = Object.entries(w.percent_of_peak ?? {}).filter(([, p]) => p.percent > 100).map(([name]) => name);
  if (over.length > 0) out.push(`  above 100% of peak (${over.join(', ')}): the peak was measured low, so the machine was busy while it ran; this run's shares of peak mean nothing.`);
  for (const s of w.systems) {
    const d = s.details ?? {};
    if (typeof d.conv2d_backprop_filter === 'string') out.push(`  ${s.name}: ${d.conv2d_backprop_filter}`);
    if (typeof d.timing_note === 'string') out.push(`  ${s.name}: ${d.timing_note}`);
    if (s.failed_runs) out.push(`  ${s.name}: ${plural(s.failed_runs, 'run')} failed`);
  }
  return out;
}

/** The ratios, each from interleaved pairs: median, range, and how many pairs had the other winner. */
function pairsTable(pairs: PairResult[]): string[] {
  if (pairs.length === 0) return ['  (no pairs: a ratio needs a ridgeline system and its peer both selected)'];
  const rows = pairs.map((p) => {
    const s = p.stats;
    return [
      `${p.system} / ${p.peer}`, s ? times(s.median) : '—', s ? `${times(s.min)}–${times(s.max)}` : '—',
      s ? String(s.pairs) : '0', s ? `${s.disagreements}` : '—',
      `${p.timing.ridgeline.warmupSteps}+${p.timing.ridgeline.seconds === 0 ? '1 step' : `≥${p.timing.ridgeline.seconds} s`} / ${p.timing.peer.warmupSteps}+${p.timing.peer.seconds === 0 ? '1 step' : `≥${p.timing.peer.seconds} s`}`,
      p.failed_pairs ? `${p.failed_pairs} failed` : '',
    ];
  });
  return [...table(['ridgeline / peer', 'median', 'min–max', 'pairs', 'disagreed', 'each side: warm-up + timed', ''], rows, (c) => c >= 1 && c <= 4),
    '  each pair: the ridgeline system, then its peer, each in its own process; the ratio is samples/s over samples/s, per pair;',
    '  disagreed: pairs whose winner was not the majority\'s.'];
}

function peersLines(p: PeersSection | null | undefined): string[] {
  if (!p) return [];
  const ref = p.reference;
  const out = [`  PyTorch configurations: pytorch-<OpenBLAS kernels>-<threads>t[-passive][-malloc]; kernels unset (OpenBLAS picks by cpuid), ` +
    'avx512 (OPENBLAS_CORETYPE forced to its AVX-512 kernels), env (the environment\'s own OPENBLAS_CORETYPE); passive: OMP_WAIT_POLICY=PASSIVE; ' +
    `malloc: GLIBC_TUNABLES=${CACHING_MALLOC} (a caching allocator).`,
  `  correctness: each one's loss after ${p.check_steps} steps from the same weights must equal ${ref.name}'s ` +
    `(1 thread, OPENBLAS_CORETYPE=${ref.openblas_coretype ?? '(unset)'}, OpenBLAS ${ref.openblas_core ?? '?'}: ${ref.loss ?? ref.skipped ?? '—'}) within ${p.tolerance} relative.`,
  `  PyTorch best (the fastest correct configuration): ${p.best ?? 'none'}.`];
  for (const c of p.configurations) if (c.check && !c.check.correct) out.push(`  EXCLUDED ${c.name}: ${c.check.excluded}`);
  return out;
}

/** Reports from before the interleaved pairs: their ratios came from one run of each. */
function legacyRatios(ratios: Record<string, Ratios> | undefined): string[] {
  const entries = Object.entries(ratios ?? {});
  if (entries.length === 0) return [];
  return ['  ratios (this report predates interleaved pairs: one run of each):',
    ...entries.map(([k, r]) => `    ${k}: vs PyTorch best ${times(r.ratio_vs_pytorch_best)}, vs tfjs wasm ${times(r.ratio_vs_tfjs_wasm)}, vs tfjs cpu ${times(r.ratio_vs_tfjs_cpu)}`)];
}

function peakLine(p: PeakSeries): string {
  if ('skipped' in p) return `  ${p.label}: skipped (${p.skipped})`;
  return `  ${p.label} (${p.instruction}, ${p.lanes} lanes × ${p.chains} chains): ${p.points.map((q) => `${plural(q.threads, 'thread')} ${q.gflops.toFixed(1)}`).join(', ')} GFLOP/s`;
}

function peakLines(peaks: Peaks | null | undefined): string[] {
  if (!peaks) return [];
  return ['', `Measured fp32 peak (independent multiply-add chains; best of ${peaks.repetitions} × ${peaks.seconds} s)`,
    peakLine(peaks.native), peakLine(peaks.wasm_relaxed), peakLine(peaks.wasm_simd128)];
}

function workloadLines(w: WorkloadResult & { ratios?: Record<string, Ratios> }, flopsPerSample: number, legacy: boolean): string[] {
  return [
    ...systemsTable(w, flopsPerSample),
    ...peersLines(w.peers),
    '', 'Ratios (interleaved pairs)',
    ...(legacy ? legacyRatios(w.ratios) : pairsTable(w.pairs)),
  ];
}

export function renderTable(r: Report): string {
  const m = r.machine;
  const legacy = r.pairs === undefined;
  const out: string[] = [
    '',
    `ridgeline bench (${m.mode}; workloads ${r.workloads.join(', ')})`,
    `  data: ${r.workload.data}${r.workload.data_note ? ` (${r.workload.data_note})` : ''}`,
    `  machine: ${m.cpu}${m.vector_flags ? ` (${m.vector_flags.join(' ')})` : ''}, availableParallelism ${m.available_parallelism}, load average ${fmtLoad(m.load_average_start)} → ${fmtLoad(m.load_average_end)}`,
    `  versions: ${Object.entries(m.versions).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  BLAS environment: ${Object.entries(m.blas_env ?? {}).map(([k, v]) => `${k}=${v ?? '(unset)'}`).join(' ')}`,
    ...peakLines(r.peak),
  ];
  if (r.workloads.includes('mlp')) {
    out.push('', `Workload mlp — ${r.workload.model}; ${r.workload.optimizer}; B = ${r.workload.batch}; ${(r.workload.flops_per_sample / 1e6).toFixed(2)} MFLOP per example per step`,
      `  ${r.workload.regularization}`, '');
    out.push(...workloadLines({ ...r, pairs: r.pairs ?? [], peers: r.peers ?? null, percent_of_peak: r.percent_of_peak ?? {} } as unknown as WorkloadResult, r.workload.flops_per_sample, legacy));
  }

  const backends = Object.keys(r.gemm_details);
  if (backends.length > 0) {
    out.push('', 'GEMM GFLOP/s (ridgeline backends; shapes the MLP\'s Dense layers call at B = 128, then 1024³)');
    const first = backends.map((b) => r.gemm_details[b]).find((g) => g.shapes);
    const shapeRows = (first?.shapes ?? []).map((e) => [e.shape, e.use, ...backends.map((b) => {
      const g = r.gemm_details[b];
      return g.shapes?.find((s) => s.shape === e.shape)?.gflops.toFixed(2) ?? (g.skipped ? 'failed' : '—');
    })]);
    out.push(...table(['op(A)op(B) m×n×k', 'use', ...backends], shapeRows, (c) => c >= 2));
  }

  const mem = Object.values(r.memory_flat);
  if (mem.length > 0) {
    const epochs = mem.find((e) => e.epochs)?.epochs?.length ?? 0;
    out.push('', `Memory over ${epochs} epochs (MLP, Trainer.runEpoch, RSS after a GC)`);
    for (const e of mem) {
      if (e.skipped) { out.push(`  ${e.backend}: ${e.skipped}`); continue; }
      const warmup = e.warmup_epochs ?? 1;
      const rss = e.rss_growth_after_warmup_mb ?? e.rss_growth_after_first_epoch_mb!;
      const heap = e.heap_growth_after_warmup_mb ?? e.heap_growth_after_first_epoch_mb!;
      out.push(`  ${e.backend}: ${e.steps_per_epoch} steps/epoch; RSS ${e.epochs!.map((p) => p.rss_mb.toFixed(1)).join(' → ')} MB, ` +
        `heap ${e.epochs!.map((p) => p.heap_used_mb.toFixed(1)).join(' → ')} MB; growth after epoch ${warmup} ` +
        `${rss.toFixed(1)} MB RSS, ${heap.toFixed(2)} MB heap: ${e.flat ? 'flat' : 'GROWING'}`);
    }
  }

  if (r.cnn) {
    const w = r.cnn.workload;
    out.push('', `Workload cnn — ${w.model}; ${w.optimizer}; B = ${w.batch}`,
      `  ${(w.params as number).toLocaleString('en-US')} trainable parameters; ${((w.forward_macs_per_sample as number) / 1e6).toFixed(2)} M multiply-adds forward, ` +
      `${(w.flops_per_sample / 1e6).toFixed(2)} MFLOP per example per step (≈ 3 × forward)`,
      `  ${w.regularization}`, '');
    out.push(...workloadLines({ ...r.cnn, pairs: r.cnn.pairs ?? [], percent_of_peak: r.cnn.percent_of_peak ?? {} }, w.flops_per_sample, legacy));
  }
  out.push('', `(${r.seconds.toFixed(0)} s; machine load is not controlled — compare runs on an idle machine)`, '');
  return out.join('\n');
}

/** The sweep as a table: each point's samples/s, model GFLOP/s and share of the peak, both systems, and the pairs' ratio. */
export function renderSweep(r: SweepReport): string {
  const side = (s: SweepSide | null) => (s ? [sps(s.samples_per_s), s.model_gflops.toFixed(1), s.percent_of_peak === null ? '—' : `${s.percent_of_peak.toFixed(1)}%`] : ['—', '—', '—']);
  const rows = r.points.map((p) => [String(p.width), String(p.batch), (p.flops_per_sample / 1e6).toFixed(2), ...side(p.native), ...side(p.pytorch),
    p.pairs.stats ? `${times(p.pairs.stats.median)}${p.pairs.stats.pairs > 1 ? ` (${times(p.pairs.stats.min)}–${times(p.pairs.stats.max)}, ${p.pairs.stats.pairs} pairs)` : ''}` : '—']);
  const best = r.points.find((p) => p.pytorch)?.pytorch?.name ?? r.peers?.best ?? '—';
  return ['', `ridgeline bench --sweep (${r.machine.mode}): MLP ${mlpSizes().join('-').replace(/-\d+-\d+-/, '-w-w-')}, ridgeline native against PyTorch best (${best})`,
    `  machine: ${r.machine.cpu}, load average ${fmtLoad(r.machine.load_average_start)} → ${fmtLoad(r.machine.load_average_end)}`,
    ...peakLines(r.peak), ...peersLines(r.peers), '',
    ...table(['width', 'B', 'MFLOP/ex', 'native samples/s', 'GFLOP/s', '% peak', 'PyTorch samples/s', 'GFLOP/s', '% peak', 'native / PyTorch'], rows, (c) => c <= 8),
    '', `(${r.seconds.toFixed(0)} s; machine load is not controlled — compare runs on an idle machine)`, ''].join('\n');
}
