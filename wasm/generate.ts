/**
 * Generates the WebAssembly text (WAT) of ridgeline's kernels. `wasm/build.ts` assembles it
 * with the npm package `wabt`; see wasm/README.md for the design.
 *
 * Everything unrolled is written once here as a loop over the tile (the GEMM micro-kernel, the
 * panel packing), so the generated WAT is long but this file stays readable. The two variants
 * differ only in `fma()`: plain SIMD128 multiplies then adds (two roundings), relaxed SIMD
 * emits `f32x4.relaxed_madd` (one fused instruction where the hardware has FMA).
 *
 * Memory contract (the JS side in src/kernels/wasm/index.ts keeps it): every pointer is a byte
 * offset into the module's own memory, every array region is 16-byte aligned and followed by
 * at least 16 bytes of padding, so elementwise loops run in whole f32x4 vectors and may read
 * and write up to three elements past `n` (padding the caller never copies out). Kernels whose
 * rows are packed back to back (bias add, softmax) never write past a row.
 */

import { optimizerStep } from './optimizer.js';
import { spatialKernels } from './spatial.js';
import { add, f32, get, hi, i32, lo, mul, set, shuffle, splat } from './wat.js';

export type Variant = 'simd' | 'relaxed';

export interface KernelOptions {
  variant: Variant;
  /** Micro-kernel tile: MR rows × NR columns of C in registers (NR a multiple of 4). */
  mr: number;
  nr: number;
  /** How many k steps the micro-kernel's main loop does per iteration. */
  unroll: number;
  /** Cache blocking: at most KC of k, MC rows of A and NC columns of B per packed block. */
  kc: number;
  mc: number;
  nc: number;
}

/**
 * Chosen by `wasm/tune.ts` on the build machine (AMD EPYC, V8 11.3); see the README. 4×8 keeps
 * 8 accumulators + 2 B vectors + the broadcast A + a product temp in V8's 15 allocatable XMM
 * registers with no spills.
 */
export const DEFAULT_OPTIONS: Omit<KernelOptions, 'variant'> = { mr: 4, nr: 8, unroll: 1, kc: 256, mc: 128, nc: 2048 };

/**
 * How the module gets its linear memory: 'owned' declares and exports it (the single-threaded
 * backend); 'shared' imports a shared memory as env.memory (initial ≥ 16 pages, maximum ≤
 * MAX_PAGES), which the threaded backend creates once and instantiates the module on in every
 * thread. Assembling 'shared' needs wabt's threads feature; the code is otherwise identical.
 */
export type MemoryKind = 'owned' | 'shared';
/** The shared memory's declared maximum: the whole 32-bit address space (4 GiB). */
export const MAX_PAGES = 65536;

export function generateWat(o: KernelOptions, memory: MemoryKind = 'owned'): string {
  if (o.nr % 4 !== 0) throw new Error(`NR must be a multiple of 4, got ${o.nr}`);
  if (o.mc % o.mr !== 0 || o.nc % o.nr !== 0) throw new Error('MC and NC must be multiples of MR and NR');
  const fma = o.variant === 'relaxed'
    ? (a: string, b: string, c: string) => `(f32x4.relaxed_madd ${a} ${b} ${c})`
    : (a: string, b: string, c: string) => `(f32x4.add ${c} (f32x4.mul ${a} ${b}))`;
  const tileBytes = o.mr * o.nr * 4;
  const packABytes = o.mc * o.kc * 4, packBBytes = o.nc * o.kc * 4;
  const workBytes = tileBytes + packABytes + packBBytes;

  return `(module
  ;; ridgeline kernels, ${o.variant === 'relaxed' ? 'relaxed SIMD (f32x4.relaxed_madd)' : 'SIMD128 (f32x4.mul + f32x4.add)'}
  ;; GEMM micro-kernel ${o.mr}x${o.nr}, k unrolled ${o.unroll}x, blocks KC=${o.kc} MC=${o.mc} NC=${o.nc}; ${memory} memory
  ${memory === 'shared' ? `(import "env" "memory" (memory 16 ${MAX_PAGES} shared))` : '(memory (export "memory") 16)'}
  (global (export "variant_relaxed") i32 ${i32(o.variant === 'relaxed' ? 1 : 0)})
  ;; Bytes of scratch the gemm needs at its \`work\` pointer: an MR×NR tile, packed A, packed B.
  (func (export "gemm_work_bytes") (result i32) ${i32(workBytes)})
${microKernel(o, fma)}
${edgeStore(o)}
${packPanels('a', o.mr, o.kc)}
${packPanels('b', o.nr, o.kc)}
${gemmDriver(o, tileBytes, packABytes)}
${elementwise()}
${mathFunctions()}
${reductions()}
${softmaxCrossEntropy()}
${optimizerStep()}
${spatialKernels()}
)
`;
}

// -----------------------------------------------------------------------------------------------
// GEMM

/**
 * C[MR×NR] ← α·Ã·B̃ + β·C over kc steps of packed panels: Ã holds MR values of op(A) per k
 * step, B̃ NR values of op(B). Accumulators live in locals (registers); α and β are applied
 * once at the store, and β = 0 stores without reading C.
 */
function microKernel(o: KernelOptions, fma: (a: string, b: string, c: string) => string): string {
  const { mr, nr, unroll } = o, nv = nr / 4;
  const acc = (i: number, j: number) => `c${i}_${j}`;
  const locals: string[] = [];
  for (let i = 0; i < mr; i++) for (let j = 0; j < nv; j++) locals.push(`(local $${acc(i, j)} v128)`);
  for (let j = 0; j < nv; j++) locals.push(`(local $b${j} v128)`);

  /** One k step, reading the panels at a fixed byte offset `u` steps ahead of pa/pb. */
  const step = (u: number): string[] => {
    const out: string[] = [];
    for (let j = 0; j < nv; j++) out.push(set(`b${j}`, `(v128.load offset=${(u * nr + 4 * j) * 4} ${get('pb')})`));
    for (let i = 0; i < mr; i++) {
      out.push(set('a', `(v128.load32_splat offset=${(u * mr + i) * 4} ${get('pa')})`));
      for (let j = 0; j < nv; j++) out.push(set(acc(i, j), fma(get('a'), get(`b${j}`), get(acc(i, j)))));
    }
    return out;
  };
  const advance = (steps: number) => [
    set('pa', add(get('pa'), i32(steps * mr * 4))),
    set('pb', add(get('pb'), i32(steps * nr * 4))),
    set('left', `(i32.sub ${get('left')} ${i32(steps)})`),
  ];
  const mainLoop = [];
  for (let u = 0; u < unroll; u++) mainLoop.push(...step(u));

  const storeRows = (withBeta: boolean): string[] => {
    const out: string[] = [set('cr', get('c'))];
    for (let i = 0; i < mr; i++) {
      for (let j = 0; j < nv; j++) {
        const scaled = `(f32x4.mul ${get(acc(i, j))} ${get('va')})`;
        const value = withBeta ? `(f32x4.add ${scaled} (f32x4.mul (v128.load offset=${16 * j} ${get('cr')}) ${get('vb')}))` : scaled;
        out.push(`(v128.store offset=${16 * j} ${get('cr')} ${value})`);
      }
      if (i < mr - 1) out.push(set('cr', add(get('cr'), get('ldc'))));
    }
    return out;
  };

  return `
  ;; The register-blocked micro-kernel: ${mr}×${nr} of C in ${mr * nv} f32x4 accumulators.
  (func $kernel (param $kc i32) (param $pa i32) (param $pb i32) (param $c i32) (param $ldc i32)
      (param $alpha f32) (param $beta f32)
    ${locals.join(' ')}
    (local $a v128) (local $left i32) (local $cr i32) (local $va v128) (local $vb v128)
    ${set('left', get('kc'))}
    (block $main_done
      (loop $main
        (br_if $main_done (i32.lt_s ${get('left')} ${i32(unroll)}))
        ${[...mainLoop, ...advance(unroll)].join('\n        ')}
        (br $main)))
    ${unroll === 1 ? '' : `(block $rest_done
      (loop $rest
        (br_if $rest_done (i32.le_s ${get('left')} ${i32(0)}))
        ${[...step(0), ...advance(1)].join('\n        ')}
        (br $rest)))`}
    ${set('va', `(f32x4.splat ${get('alpha')})`)}
    (if (f32.eq ${get('beta')} ${f32(0)})
      (then
        ${storeRows(false).join('\n        ')})
      (else
        ${set('vb', `(f32x4.splat ${get('beta')})`)}
        ${storeRows(true).join('\n        ')})))`;
}

/** Copies the valid mr×nr corner of an α-scaled tile into C, adding β·C (β = 0: no read). */
function edgeStore(o: KernelOptions): string {
  return `
  (func $edge_store (param $tile i32) (param $c i32) (param $ldc i32) (param $mr i32) (param $nr i32) (param $beta f32)
    (local $i i32) (local $j i32) (local $t i32) (local $d i32)
    (loop $rows
      ${set('t', add(get('tile'), mul(get('i'), i32(o.nr * 4))))}
      ${set('d', add(get('c'), mul(get('i'), get('ldc'))))}
      ${set('j', i32(0))}
      (loop $cols
        (if (f32.eq ${get('beta')} ${f32(0)})
          (then (f32.store ${get('d')} (f32.load ${get('t')})))
          (else (f32.store ${get('d')} (f32.add (f32.load ${get('t')}) (f32.mul ${get('beta')} (f32.load ${get('d')}))))))
        ${set('t', add(get('t'), i32(4)))}
        ${set('d', add(get('d'), i32(4)))}
        ${set('j', add(get('j'), i32(1)))}
        (br_if $cols (i32.lt_s ${get('j')} ${get('nr')})))
      ${set('i', add(get('i'), i32(1)))}
      (br_if $rows (i32.lt_s ${get('i')} ${get('mr')}))))`;
}

/**
 * Packs `width` rows (of A) or columns (of B) × kc of a block into panels of W, each panel
 * stored k-major: dst[panel][p][w] (zero-padded past `width`). `sw` and `sk` are the element
 * strides of the block along the panel width and along k, which is how one packing routine
 * covers both storage orders of both operands:
 *   - sw = 1 (A transposed, or B as stored): each k step is W contiguous floats, copied as vectors;
 *   - sk = 1 (A as stored, or B transposed): 4×4 blocks are loaded and transposed in registers.
 */
function packPanels(which: 'a' | 'b', W: number, _kc: number): string {
  const nv = Math.floor(W / 4), rem = W % 4;
  const vectorCopy: string[] = [];
  for (let q = 0; q < nv; q++) vectorCopy.push(`(v128.store offset=${16 * q} ${get('d')} (v128.load offset=${16 * q} ${get('s')}))`);
  for (let r = 0; r < rem; r++) {
    const off = 4 * (4 * nv + r);
    vectorCopy.push(`(f32.store offset=${off} ${get('d')} (f32.load offset=${off} ${get('s')}))`);
  }
  // Transpose path (W a multiple of 4, sk = 1): for each group of 4 rows, load rows[t][p..p+3]
  // for t < 4, transpose, store at dst[p + t'][q·4 .. q·4 + 3].
  const transpose: string[] = [];
  if (rem === 0) {
    for (let q = 0; q < nv; q++) {
      for (let t = 0; t < 4; t++) {
        transpose.push(set(`r${t}`, `(v128.load ${add(get('s'), mul(i32(4 * q + t), get('swb')))})`));
      }
      transpose.push(
        set('t0', shuffle([0, 4, 1, 5], get('r0'), get('r1'))), set('t1', shuffle([2, 6, 3, 7], get('r0'), get('r1'))),
        set('t2', shuffle([0, 4, 1, 5], get('r2'), get('r3'))), set('t3', shuffle([2, 6, 3, 7], get('r2'), get('r3'))));
      const outs = [shuffle([0, 1, 4, 5], get('t0'), get('t2')), shuffle([2, 3, 6, 7], get('t0'), get('t2')),
        shuffle([0, 1, 4, 5], get('t1'), get('t3')), shuffle([2, 3, 6, 7], get('t1'), get('t3'))];
      outs.forEach((v, t) => transpose.push(`(v128.store offset=${(t * W + 4 * q) * 4} ${get('d')} ${v})`));
    }
  }
  return `
  ;; Packs panels of ${W} for ${which === 'a' ? 'op(A) (MR rows)' : 'op(B) (NR columns)'}.
  (func $pack_${which} (param $src i32) (param $sw i32) (param $sk i32) (param $width i32) (param $kc i32) (param $dst i32)
    (local $x i32) (local $w i32) (local $p i32) (local $r i32) (local $s i32) (local $d i32)
    (local $swb i32) (local $skb i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    ${set('swb', `(i32.shl ${get('sw')} ${i32(2)})`)}
    ${set('skb', `(i32.shl ${get('sk')} ${i32(2)})`)}
    (block $panels_done
      (loop $panels
        (br_if $panels_done (i32.ge_s ${get('x')} ${get('width')}))
        ${set('w', `(i32.sub ${get('width')} ${get('x')})`)}
        (if (i32.gt_s ${get('w')} ${i32(W)}) (then ${set('w', i32(W))}))
        ${set('s', add(get('src'), mul(get('x'), get('swb'))))}
        ${set('d', get('dst'))}
        ${set('p', i32(0))}
        (if (i32.and (i32.eq ${get('w')} ${i32(W)}) (i32.eq ${get('sw')} ${i32(1)}))
          (then ;; contiguous along the panel: copy W floats per k step
            (block $copy_done
              (loop $copy
                (br_if $copy_done (i32.ge_s ${get('p')} ${get('kc')}))
                ${vectorCopy.join('\n                ')}
                ${set('s', add(get('s'), get('skb')))}
                ${set('d', add(get('d'), i32(W * 4)))}
                ${set('p', add(get('p'), i32(1)))}
                (br $copy))))
          (else
            ${rem === 0 ? `(if (i32.and (i32.eq ${get('w')} ${i32(W)}) (i32.eq ${get('sk')} ${i32(1)}))
              (then ;; contiguous along k: transpose 4×4 blocks
                (block $tr_done
                  (loop $tr
                    (br_if $tr_done (i32.gt_s (i32.add ${get('p')} ${i32(4)}) ${get('kc')}))
                    ${transpose.join('\n                    ')}
                    ${set('s', add(get('s'), i32(16)))}
                    ${set('d', add(get('d'), i32(W * 16)))}
                    ${set('p', add(get('p'), i32(4)))}
                    (br $tr)))))` : ''}
            ;; whatever is left (partial panels, strided storage, the last k steps): one float at a time
            (block $scalar_done
              (loop $scalar
                (br_if $scalar_done (i32.ge_s ${get('p')} ${get('kc')}))
                ${set('r', i32(0))}
                (loop $lanes
                  (f32.store ${add(get('d'), `(i32.shl ${get('r')} ${i32(2)})`)}
                    (if (result f32) (i32.lt_s ${get('r')} ${get('w')})
                      (then (f32.load ${add(get('s'), mul(get('r'), get('swb')))}))
                      (else ${f32(0)})))
                  ${set('r', add(get('r'), i32(1)))}
                  (br_if $lanes (i32.lt_s ${get('r')} ${i32(W)})))
                ${set('s', add(get('s'), get('skb')))}
                ${set('d', add(get('d'), i32(W * 4)))}
                ${set('p', add(get('p'), i32(1)))}
                (br $scalar)))))
        ${set('dst', add(get('dst'), mul(get('kc'), i32(W * 4))))}
        ${set('x', add(get('x'), i32(W)))}
        (br $panels))))`;
}

/**
 * The blocked loops around the micro-kernel (the BLIS order): for each NC columns, for each
 * KC of k, pack B; for each MC rows, pack A; then every MR×NR tile. β applies on the first k
 * block only (later blocks accumulate with β = 1). op(A)[i, p] = A[i·ars + p·acs] and
 * op(B)[p, j] = B[p·brs + j·bcs], so the transposes are only strides for the packing, and C's
 * row stride `ldc` (bytes) is a parameter, so a block of a larger C is computed the same way.
 *
 * Two exports share it: `gemm` (the whole product) and `gemm_part` (rows [r0, r1) × columns
 * [c0, c1) of C, for the threaded backend, each thread with its own `work`). Every element of
 * C is one sequential sum over k in the same KC blocks (the blocks depend on k alone), so any
 * split of M and N computes the same bits as the whole call.
 */
function gemmDriver(o: KernelOptions, tileBytes: number, packABytes: number): string {
  const min = (a: string, b: string) => `(select ${a} ${b} (i32.lt_s ${a} ${b}))`;
  const strides = `
    (if ${get('ta')} (then ${set('ars', i32(1))} ${set('acs', get('m'))}) (else ${set('ars', get('k'))} ${set('acs', i32(1))}))
    (if ${get('tb')} (then ${set('brs', i32(1))} ${set('bcs', get('k'))}) (else ${set('brs', get('n'))} ${set('bcs', i32(1))}))`;
  return `
  ;; C (m×n, row stride ldc bytes) ← α·op(A)·op(B) + β·C for k > 0, m > 0, n > 0; work: gemm_work_bytes().
  (func $gemm_blocked (param $m i32) (param $n i32) (param $k i32) (param $alpha f32)
      (param $A i32) (param $ars i32) (param $acs i32) (param $B i32) (param $brs i32) (param $bcs i32)
      (param $beta f32) (param $C i32) (param $ldc i32) (param $work i32)
    (local $tile i32) (local $packA i32) (local $packB i32)
    (local $jc i32) (local $nc i32) (local $pc i32) (local $kc i32) (local $ic i32) (local $mc i32)
    (local $jr i32) (local $nr i32) (local $ir i32) (local $mr i32) (local $be f32)
    (local $kblocks i32) (local $kstep i32) (local $cp i32)
    ${set('tile', get('work'))}
    ${set('packA', add(get('work'), i32(tileBytes)))}
    ${set('packB', add(get('work'), i32(tileBytes + packABytes)))}
    ;; k split into equal blocks of at most KC (a multiple of 4 where possible)
    ${set('kblocks', `(i32.div_u (i32.add ${get('k')} ${i32(o.kc - 1)}) ${i32(o.kc)})`)}
    ${set('kstep', `(i32.and (i32.add (i32.div_u (i32.add ${get('k')} (i32.sub ${get('kblocks')} ${i32(1)})) ${get('kblocks')}) ${i32(3)}) ${i32(-4)})`)}
    (if (i32.gt_s ${get('kstep')} ${i32(o.kc)}) (then ${set('kstep', i32(o.kc))}))
    (loop $jc_loop
      ${set('nc', min(`(i32.sub ${get('n')} ${get('jc')})`, i32(o.nc)))}
      ${set('pc', i32(0))}
      (loop $pc_loop
        ${set('kc', min(`(i32.sub ${get('k')} ${get('pc')})`, get('kstep')))}
        ${set('be', `(select ${get('beta')} ${f32(1)} (i32.eqz ${get('pc')}))`)}
        (call $pack_b
          ${add(get('B'), `(i32.shl ${add(mul(get('pc'), get('brs')), mul(get('jc'), get('bcs')))} ${i32(2)})`)}
          ${get('bcs')} ${get('brs')} ${get('nc')} ${get('kc')} ${get('packB')})
        ${set('ic', i32(0))}
        (loop $ic_loop
          ${set('mc', min(`(i32.sub ${get('m')} ${get('ic')})`, i32(o.mc)))}
          (call $pack_a
            ${add(get('A'), `(i32.shl ${add(mul(get('ic'), get('ars')), mul(get('pc'), get('acs')))} ${i32(2)})`)}
            ${get('ars')} ${get('acs')} ${get('mc')} ${get('kc')} ${get('packA')})
          ${set('jr', i32(0))}
          (loop $jr_loop
            ${set('nr', min(`(i32.sub ${get('nc')} ${get('jr')})`, i32(o.nr)))}
            ${set('ir', i32(0))}
            (loop $ir_loop
              ${set('mr', min(`(i32.sub ${get('mc')} ${get('ir')})`, i32(o.mr)))}
              ${set('cp', add(add(get('C'), mul(add(get('ic'), get('ir')), get('ldc'))), `(i32.shl ${add(get('jc'), get('jr'))} ${i32(2)})`))}
              (if (i32.and (i32.eq ${get('mr')} ${i32(o.mr)}) (i32.eq ${get('nr')} ${i32(o.nr)}))
                (then
                  (call $kernel ${get('kc')} ${add(get('packA'), mul(get('ir'), `(i32.shl ${get('kc')} ${i32(2)})`))}
                    ${add(get('packB'), mul(get('jr'), `(i32.shl ${get('kc')} ${i32(2)})`))} ${get('cp')} ${get('ldc')} ${get('alpha')} ${get('be')}))
                (else
                  (call $kernel ${get('kc')} ${add(get('packA'), mul(get('ir'), `(i32.shl ${get('kc')} ${i32(2)})`))}
                    ${add(get('packB'), mul(get('jr'), `(i32.shl ${get('kc')} ${i32(2)})`))} ${get('tile')} ${i32(o.nr * 4)} ${get('alpha')} ${f32(0)})
                  (call $edge_store ${get('tile')} ${get('cp')} ${get('ldc')} ${get('mr')} ${get('nr')} ${get('be')})))
              ${set('ir', add(get('ir'), i32(o.mr)))}
              (br_if $ir_loop (i32.lt_s ${get('ir')} ${get('mc')})))
            ${set('jr', add(get('jr'), i32(o.nr)))}
            (br_if $jr_loop (i32.lt_s ${get('jr')} ${get('nc')})))
          ${set('ic', add(get('ic'), i32(o.mc)))}
          (br_if $ic_loop (i32.lt_s ${get('ic')} ${get('m')})))
        ${set('pc', add(get('pc'), get('kc')))}
        (br_if $pc_loop (i32.lt_s ${get('pc')} ${get('k')})))
      ${set('jc', add(get('jc'), i32(o.nc)))}
      (br_if $jc_loop (i32.lt_s ${get('jc')} ${get('n')}))))

  ;; C (m×n, row-major) ← α·op(A)·op(B) + β·C. All pointers are byte offsets; work: gemm_work_bytes().
  (func (export "gemm") (param $ta i32) (param $tb i32) (param $m i32) (param $n i32) (param $k i32)
      (param $alpha f32) (param $A i32) (param $B i32) (param $beta f32) (param $C i32) (param $work i32)
    (local $ars i32) (local $acs i32) (local $brs i32) (local $bcs i32) (local $cp i32) (local $i i32)
    (if (i32.or (i32.le_s ${get('m')} ${i32(0)}) (i32.le_s ${get('n')} ${i32(0)})) (then (return)))
    (if (i32.le_s ${get('k')} ${i32(0)})
      (then ;; α·(empty sum) + β·C
        ${set('i', i32(0))}
        (loop $scale
          ${set('cp', add(get('C'), `(i32.shl ${get('i')} ${i32(2)})`))}
          (f32.store ${get('cp')} (if (result f32) (f32.eq ${get('beta')} ${f32(0)})
            (then ${f32(0)}) (else (f32.mul ${get('beta')} (f32.load ${get('cp')})))))
          ${set('i', add(get('i'), i32(1)))}
          (br_if $scale (i32.lt_s ${get('i')} ${mul(get('m'), get('n'))})))
        (return)))${strides}
    (call $gemm_blocked ${get('m')} ${get('n')} ${get('k')} ${get('alpha')} ${get('A')} ${get('ars')} ${get('acs')}
      ${get('B')} ${get('brs')} ${get('bcs')} ${get('beta')} ${get('C')} (i32.shl ${get('n')} ${i32(2)}) ${get('work')}))

  ;; Rows [r0, r1) × columns [c0, c1) of the product \`gemm\` computes with the same arguments
  ;; (k > 0; an empty block does nothing). Threads call it on disjoint blocks, each with its own work.
  (func (export "gemm_part") (param $ta i32) (param $tb i32) (param $m i32) (param $n i32) (param $k i32)
      (param $alpha f32) (param $A i32) (param $B i32) (param $beta f32) (param $C i32) (param $work i32)
      (param $r0 i32) (param $r1 i32) (param $c0 i32) (param $c1 i32)
    (local $ars i32) (local $acs i32) (local $brs i32) (local $bcs i32)
    (if (i32.or (i32.le_s ${get('k')} ${i32(0)})
          (i32.or (i32.le_s ${get('r1')} ${get('r0')}) (i32.le_s ${get('c1')} ${get('c0')}))) (then (return)))${strides}
    (call $gemm_blocked (i32.sub ${get('r1')} ${get('r0')}) (i32.sub ${get('c1')} ${get('c0')}) ${get('k')} ${get('alpha')}
      ${add(get('A'), `(i32.shl ${mul(get('r0'), get('ars'))} ${i32(2)})`)} ${get('ars')} ${get('acs')}
      ${add(get('B'), `(i32.shl ${mul(get('c0'), get('bcs'))} ${i32(2)})`)} ${get('brs')} ${get('bcs')} ${get('beta')}
      ${add(get('C'), `(i32.shl ${add(mul(get('r0'), get('n')), get('c0'))} ${i32(2)})`)} (i32.shl ${get('n')} ${i32(2)}) ${get('work')}))`;
}

// -----------------------------------------------------------------------------------------------
// Elementwise kernels: whole vectors over ceil(n/4)·4 elements (see the memory contract above).

/** A loop over `n` elements in f32x4 steps; `body` reads the vectors named by `ins` and returns the output. */
function vectorMap(name: string, ins: string[], body: string, extraLocals = ''): string {
  const params = ins.map((x) => `(param $${x}p i32)`).join(' ');
  const loads = ins.map((x) => set(x, `(v128.load ${add(get(`${x}p`), get('i'))})`)).join('\n        ');
  return `
  (func (export "${name}") ${params} (param $outp i32) (param $n i32)
    (local $i i32) (local $end i32) ${ins.map((x) => `(local $${x} v128)`).join(' ')} ${extraLocals}
    ${set('end', `(i32.shl ${get('n')} ${i32(2)})`)}
    (block $done
      (loop $next
        (br_if $done (i32.ge_s ${get('i')} ${get('end')}))
        ${loads}
        (v128.store ${add(get('outp'), get('i'))} ${body})
        ${set('i', add(get('i'), i32(16)))}
        (br $next))))`;
}

function elementwise(): string {
  const zero = '(v128.const i32x4 0 0 0 0)';
  const one = splat(1);
  return [
    vectorMap('relu', ['x'], `(v128.and ${get('x')} (f32x4.gt ${get('x')} ${zero}))`),
    vectorMap('relu_backward', ['y', 'dy'], `(v128.and ${get('dy')} (f32x4.gt ${get('y')} ${zero}))`),
    vectorMap('tanh', ['x'], `(call $tanh4 ${get('x')})`),
    vectorMap('tanh_backward', ['y', 'dy'], `(f32x4.mul ${get('dy')} (f32x4.sub ${one} (f32x4.mul ${get('y')} ${get('y')})))`),
    vectorMap('gelu', ['x'], `(f32x4.mul ${get('x')} (call $phi4 ${get('x')} (call $exp_neg_half_sq4 ${get('x')})))`),
    // dx = dy·(Φ(x) + x·φ(x)), φ(x) = e^{−x²/2}/√(2π)
    vectorMap('gelu_backward', ['x', 'dy'], `(f32x4.mul ${get('dy')} (f32x4.add (call $phi4 ${get('x')} ${set('g', `(call $exp_neg_half_sq4 ${get('x')})`).replace('local.set', 'local.tee')})
          (f32x4.mul ${get('x')} (f32x4.mul ${splat(1 / Math.sqrt(2 * Math.PI))} ${get('g')}))))`, '(local $g v128)'),
    vectorMap('mul', ['a', 'b'], `(f32x4.mul ${get('a')} ${get('b')})`),
    `
  ;; y[r, j] += bias[j]: rows are back to back, so the last partial vector of a row is done one float at a time.
  (func (export "add_row_vector") (param $y i32) (param $bias i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $j i32) (local $row i32) (local $vend i32)
    ${set('vend', `(i32.and ${get('cols')} ${i32(-4)})`)}
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.ge_s ${get('r')} ${get('rows')}))
        ${set('row', add(get('y'), `(i32.shl ${mul(get('r'), get('cols'))} ${i32(2)})`))}
        ${set('j', i32(0))}
        (block $v_done
          (loop $v
            (br_if $v_done (i32.ge_s ${get('j')} ${get('vend')}))
            (v128.store ${add(get('row'), `(i32.shl ${get('j')} ${i32(2)})`)}
              (f32x4.add (v128.load ${add(get('row'), `(i32.shl ${get('j')} ${i32(2)})`)})
                         (v128.load ${add(get('bias'), `(i32.shl ${get('j')} ${i32(2)})`)})))
            ${set('j', add(get('j'), i32(4)))}
            (br $v)))
        (block $s_done
          (loop $s
            (br_if $s_done (i32.ge_s ${get('j')} ${get('cols')}))
            (f32.store ${add(get('row'), `(i32.shl ${get('j')} ${i32(2)})`)}
              (f32.add (f32.load ${add(get('row'), `(i32.shl ${get('j')} ${i32(2)})`)})
                       (f32.load ${add(get('bias'), `(i32.shl ${get('j')} ${i32(2)})`)})))
            ${set('j', add(get('j'), i32(1)))}
            (br $s)))
        ${set('r', add(get('r'), i32(1)))}
        (br $rows_loop))))`,
  ].join('\n');
}

// -----------------------------------------------------------------------------------------------
// exp, log, tanh, Φ on f32x4 (Cephes single-precision algorithms: about 1-2 ulp)

function mathFunctions(): string {
  const x = get('x');
  return `
  ;; e^x: x = n·ln2 + r, |r| ≤ ln2/2, e^r by a degree-6 polynomial, 2^n through the exponent bits.
  ;; Below −87.3 (where 2^n would be subnormal) the result is 0; above 88 it saturates at e^88.
  (func $exp4 (param $x v128) (result v128)
    (local $n v128) (local $r v128) (local $p v128) (local $under v128)
    ${set('under', `(f32x4.lt ${x} ${splat(-87.3)})`)}
    ${set('x', `(f32x4.min (f32x4.max ${x} ${splat(-87.3)}) ${splat(88)})`)}
    ${set('n', `(f32x4.floor (f32x4.add (f32x4.mul ${x} ${splat(1.44269504088896341)}) ${splat(0.5)}))`)}
    ${set('r', `(f32x4.sub (f32x4.sub ${x} (f32x4.mul ${get('n')} ${splat(0.693359375)})) (f32x4.mul ${get('n')} ${splat(-2.12194440e-4)}))`)}
    ${set('p', splat(1.9875691500e-4))}
    ${[1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1]
      .map((c) => set('p', `(f32x4.add (f32x4.mul ${get('p')} ${get('r')}) ${splat(c)})`)).join('\n    ')}
    ${set('p', `(f32x4.add (f32x4.add (f32x4.mul ${get('p')} (f32x4.mul ${get('r')} ${get('r')})) ${get('r')}) ${splat(1)})`)}
    ;; × 2^n: (n + 127) << 23 is the float 2^n
    ${set('p', `(f32x4.mul ${get('p')} (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s ${get('n')}) (i32x4.splat ${i32(127)})) ${i32(23)}))`)}
    (v128.andnot ${get('p')} ${get('under')}))

  ;; ln x for positive finite x (NaN and +∞ pass through): x = m·2^e, m in [√½, √2), ln m by a degree-9 polynomial.
  (func $log4 (param $x v128) (result v128)
    (local $e v128) (local $m v128) (local $small v128) (local $z v128) (local $y v128)
    ${set('e', `(f32x4.convert_i32x4_s (i32x4.sub (i32x4.shr_u ${x} ${i32(23)}) (i32x4.splat ${i32(126)})))`)}
    ${set('m', `(v128.or (v128.and ${x} (i32x4.splat ${i32(0x007fffff)})) (i32x4.splat ${i32(0x3f000000)}))`)}
    ;; m in [0.5, 1); below √½ use 2m and e − 1
    ${set('small', `(f32x4.lt ${get('m')} ${splat(0.707106781186547524)})`)}
    ${set('e', `(f32x4.sub ${get('e')} (v128.and ${splat(1)} ${get('small')}))`)}
    ${set('m', `(f32x4.sub (f32x4.add ${get('m')} (v128.and ${get('m')} ${get('small')})) ${splat(1)})`)}
    ${set('z', `(f32x4.mul ${get('m')} ${get('m')})`)}
    ${set('y', splat(7.0376836292e-2))}
    ${[-1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1]
      .map((c) => set('y', `(f32x4.add (f32x4.mul ${get('y')} ${get('m')}) ${splat(c)})`)).join('\n    ')}
    ${set('y', `(f32x4.mul (f32x4.mul ${get('y')} ${get('m')}) ${get('z')})`)}
    ${set('y', `(f32x4.add ${get('y')} (f32x4.mul ${get('e')} ${splat(-2.12194440e-4)}))`)}
    ${set('y', `(f32x4.sub ${get('y')} (f32x4.mul ${get('z')} ${splat(0.5)}))`)}
    ${set('y', `(f32x4.add (f32x4.add ${get('m')} ${get('y')}) (f32x4.mul ${get('e')} ${splat(0.693359375)}))`)}
    (v128.bitselect ${get('y')} ${x} (f32x4.lt ${x} ${splat(Infinity)})))

  ;; tanh: an odd polynomial below |x| = 0.625, 1 − 2/(e^{2|x|} + 1) with the sign of x above.
  (func $tanh4 (param $x v128) (result v128)
    (local $z v128) (local $p v128) (local $big v128)
    ${set('z', `(f32x4.abs ${x})`)}
    ${set('big', `(v128.or (f32x4.sub ${splat(1)} (f32x4.div ${splat(2)} (f32x4.add (call $exp4 (f32x4.add ${get('z')} ${get('z')})) ${splat(1)})))
      (v128.and ${x} (i32x4.splat ${i32(-0x80000000)})))`)}
    ${set('z', `(f32x4.mul ${x} ${x})`)}
    ${set('p', splat(-5.70498872745e-3))}
    ${[2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1]
      .map((c) => set('p', `(f32x4.add (f32x4.mul ${get('p')} ${get('z')}) ${splat(c)})`)).join('\n    ')}
    ${set('p', `(f32x4.add (f32x4.mul (f32x4.mul ${get('p')} ${get('z')}) ${x}) ${x})`)}
    (v128.bitselect ${get('big')} ${get('p')} (f32x4.gt (f32x4.abs ${x}) ${splat(0.625)})))

  ;; e^{−x²/2} to a few ulp even where x²/2 is large: x = xh + xl with xh's significand cut to
  ;; 12 bits, so −xh²/2 is exact in float32 and only the small −xl·(x + xh)/2 is rounded.
  (func $exp_neg_half_sq4 (param $x v128) (result v128)
    (local $xh v128)
    ${set('x', `(f32x4.min (f32x4.max ${x} ${splat(-20)}) ${splat(20)})`)}
    ${set('xh', `(v128.and ${x} (i32x4.splat ${i32(0xfffff000 | 0)}))`)}
    (f32x4.mul (call $exp4 (f32x4.mul ${splat(-0.5)} (f32x4.mul ${get('xh')} ${get('xh')})))
               (call $exp4 (f32x4.mul ${splat(-0.5)} (f32x4.mul (f32x4.sub ${x} ${get('xh')}) (f32x4.add ${x} ${get('xh')}))))))

  ;; Φ(x) = erfc(−x/√2)/2 with the Chebyshev erfc of the JS reference (Numerical Recipes §6.2,
  ;; fractional error < 1.2e-7): erfc(w) = t·e^{−w²}·e^{P(t)}, t = 1/(1 + |w|/2), and 2 − erfc(−w)
  ;; for w < 0. g = e^{−x²/2} = e^{−w²} is passed in (GELU's backward needs it too).
  (func $phi4 (param $x v128) (param $g v128) (result v128)
    (local $w v128) (local $t v128) (local $p v128) (local $r v128)
    ${set('w', `(f32x4.mul ${x} ${splat(-Math.SQRT1_2)})`)}
    ${set('t', `(f32x4.div ${splat(1)} (f32x4.add ${splat(1)} (f32x4.mul ${splat(0.5)} (f32x4.abs ${get('w')}))))`)}
    ${set('p', splat(0.17087277))}
    ${[-0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196, 1.00002368, -1.26551223]
      .map((c) => set('p', `(f32x4.add (f32x4.mul ${get('p')} ${get('t')}) ${splat(c)})`)).join('\n    ')}
    ${set('r', `(f32x4.mul (f32x4.mul ${get('t')} ${get('g')}) (call $exp4 ${get('p')}))`)}
    ;; erfc(w) = r for w ≥ 0, 2 − r for w < 0
    ${set('r', `(v128.bitselect ${get('r')} (f32x4.sub ${splat(2)} ${get('r')}) (f32x4.ge ${get('w')} ${splat(0)}))`)}
    (f32x4.mul ${splat(0.5)} ${get('r')}))`;
}

// -----------------------------------------------------------------------------------------------
// Float64 reductions

function reductions(): string {
  return `
  ;; Σ x² with float64 products and sums (a float32 product is exact in float64).
  (func (export "sum_squares") (param $x i32) (param $n i32) (result f64)
    (local $i i32) (local $end i32) (local $v v128) (local $s0 v128) (local $s1 v128) (local $d v128) (local $sum f64)
    ${set('end', `(i32.shl (i32.and ${get('n')} ${i32(-4)}) ${i32(2)})`)}
    (block $done
      (loop $next
        (br_if $done (i32.ge_s ${get('i')} ${get('end')}))
        ${set('v', `(v128.load ${add(get('x'), get('i'))})`)}
        ${set('d', lo(get('v')))}
        ${set('s0', `(f64x2.add ${get('s0')} (f64x2.mul ${get('d')} ${get('d')}))`)}
        ${set('d', hi(get('v')))}
        ${set('s1', `(f64x2.add ${get('s1')} (f64x2.mul ${get('d')} ${get('d')}))`)}
        ${set('i', add(get('i'), i32(16)))}
        (br $next)))
    ${set('s0', `(f64x2.add ${get('s0')} ${get('s1')})`)}
    ${set('sum', `(f64.add (f64x2.extract_lane 0 ${get('s0')}) (f64x2.extract_lane 1 ${get('s0')}))`)}
    ${set('end', `(i32.shl ${get('n')} ${i32(2)})`)}
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_s ${get('i')} ${get('end')}))
        ${set('sum', `(f64.add ${get('sum')} (f64.mul (f64.promote_f32 (f32.load ${add(get('x'), get('i'))})) (f64.promote_f32 (f32.load ${add(get('x'), get('i'))}))))`)}
        ${set('i', add(get('i'), i32(4)))}
        (br $tail)))
    ${get('sum')})

  ;; out[j] += Σ_r x[r, j], four columns at a time with float64 sums. A row's last vector may
  ;; read into the next row; those lanes only reach out's padding (j ≥ cols), never copied out.
  (func (export "sum_rows_into") (param $x i32) (param $rows i32) (param $cols i32) (param $out i32)
    (local $j i32) (local $r i32) (local $p i32) (local $rowBytes i32) (local $v v128) (local $s0 v128) (local $s1 v128)
    ${set('rowBytes', `(i32.shl ${get('cols')} ${i32(2)})`)}
    (block $cols_done
      (loop $cols_loop
        (br_if $cols_done (i32.ge_s ${get('j')} ${get('cols')}))
        ${set('s0', '(v128.const i32x4 0 0 0 0)')}
        ${set('s1', '(v128.const i32x4 0 0 0 0)')}
        ${set('p', add(get('x'), `(i32.shl ${get('j')} ${i32(2)})`))}
        ${set('r', i32(0))}
        (block $rows_done
          (loop $rows_loop
            (br_if $rows_done (i32.ge_s ${get('r')} ${get('rows')}))
            ${set('v', `(v128.load ${get('p')})`)}
            ${set('s0', `(f64x2.add ${get('s0')} ${lo(get('v'))})`)}
            ${set('s1', `(f64x2.add ${get('s1')} ${hi(get('v'))})`)}
            ${set('p', add(get('p'), get('rowBytes')))}
            ${set('r', add(get('r'), i32(1)))}
            (br $rows_loop)))
        ;; out[j..j+3] += sums, each rounded once to f32 after the add in f64
        ${set('p', add(get('out'), `(i32.shl ${get('j')} ${i32(2)})`))}
        ${set('v', `(v128.load ${get('p')})`)}
        (v128.store ${get('p')} ${shuffle([0, 1, 4, 5],
          `(f32x4.demote_f64x2_zero (f64x2.add ${lo(get('v'))} ${get('s0')}))`,
          `(f32x4.demote_f64x2_zero (f64x2.add ${hi(get('v'))} ${get('s1')}))`)})
        ${set('j', add(get('j'), i32(4)))}
        (br $cols_loop))))`;
}

// -----------------------------------------------------------------------------------------------
// Fused softmax cross-entropy

function softmaxCrossEntropy(): string {
  const at = (base: string, idx: string) => add(get(base), `(i32.shl ${idx} ${i32(2)})`);
  return `
  ;; dlogits = scale·(softmax(logits) − onehot(labels)); returns Σ_rows CE in float64.
  ;; work: 2·rows + 8 floats. Pass 1 writes the shifted logits s = l − max(row) into dlogits;
  ;; pass 2 exponentiates all of them in vectors; pass 3 sums each row (float64) into work;
  ;; pass 4 takes the logs of the sums in vectors; pass 5 normalizes and returns the CE.
  (func (export "softmax_ce") (param $logits i32) (param $labels i32) (param $rows i32) (param $cols i32)
      (param $dl i32) (param $scale f32) (param $work i32) (result f64)
    (local $r i32) (local $j i32) (local $row i32) (local $drow i32) (local $max f32) (local $v f32)
    (local $sum f64) (local $total f64) (local $i i32) (local $end i32) (local $y i32) (local $inv f32) (local $logs i32)
    ${set('logs', add(get('work'), `(i32.shl (i32.and (i32.add ${get('rows')} ${i32(7)}) ${i32(-4)}) ${i32(2)})`))}
    ;; pass 1: s = l − max
    (block $p1_done
      (loop $p1
        (br_if $p1_done (i32.ge_s ${get('r')} ${get('rows')}))
        ${set('row', at('logits', mul(get('r'), get('cols'))))}
        ${set('drow', at('dl', mul(get('r'), get('cols'))))}
        ${set('max', f32(-Infinity))}
        ${set('j', i32(0))}
        (block $max_done
          (loop $maxl
            (br_if $max_done (i32.ge_s ${get('j')} ${get('cols')}))
            ${set('v', `(f32.load ${at('row', get('j'))})`)}
            (if (f32.gt ${get('v')} ${get('max')}) (then ${set('max', get('v'))}))
            ${set('j', add(get('j'), i32(1)))}
            (br $maxl)))
        ${set('j', i32(0))}
        (block $sh_done
          (loop $sh
            (br_if $sh_done (i32.ge_s ${get('j')} ${get('cols')}))
            (f32.store ${at('drow', get('j'))} (f32.sub (f32.load ${at('row', get('j'))}) ${get('max')}))
            ${set('j', add(get('j'), i32(1)))}
            (br $sh)))
        ${set('r', add(get('r'), i32(1)))}
        (br $p1)))
    ;; pass 2: e = exp(s), whole vectors (past rows·cols lies dlogits' padding)
    ${set('end', `(i32.shl ${mul(get('rows'), get('cols'))} ${i32(2)})`)}
    (block $p2_done
      (loop $p2
        (br_if $p2_done (i32.ge_s ${get('i')} ${get('end')}))
        (v128.store ${add(get('dl'), get('i'))} (call $exp4 (v128.load ${add(get('dl'), get('i'))})))
        ${set('i', add(get('i'), i32(16)))}
        (br $p2)))
    ;; pass 3: row sums
    ${set('r', i32(0))}
    (block $p3_done
      (loop $p3
        (br_if $p3_done (i32.ge_s ${get('r')} ${get('rows')}))
        ${set('drow', at('dl', mul(get('r'), get('cols'))))}
        ${set('sum', '(f64.const 0)')}
        ${set('j', i32(0))}
        (block $sum_done
          (loop $suml
            (br_if $sum_done (i32.ge_s ${get('j')} ${get('cols')}))
            ${set('sum', `(f64.add ${get('sum')} (f64.promote_f32 (f32.load ${at('drow', get('j'))})))`)}
            ${set('j', add(get('j'), i32(1)))}
            (br $suml)))
        (f32.store ${at('work', get('r'))} (f32.demote_f64 ${get('sum')}))
        ${set('r', add(get('r'), i32(1)))}
        (br $p3)))
    ;; pass 4: logs of the sums
    ${set('i', i32(0))}
    ${set('end', `(i32.shl ${get('rows')} ${i32(2)})`)}
    (block $p4_done
      (loop $p4
        (br_if $p4_done (i32.ge_s ${get('i')} ${get('end')}))
        (v128.store ${add(get('logs'), get('i'))} (call $log4 (v128.load ${add(get('work'), get('i'))})))
        ${set('i', add(get('i'), i32(16)))}
        (br $p4)))
    ;; pass 5: CE = log Σe − s[y]; dlogits = scale·(e/Σe − [j = y])
    ${set('r', i32(0))}
    (block $p5_done
      (loop $p5
        (br_if $p5_done (i32.ge_s ${get('r')} ${get('rows')}))
        ${set('drow', at('dl', mul(get('r'), get('cols'))))}
        ${set('row', at('logits', mul(get('r'), get('cols'))))}
        ${set('y', `(i32.load ${at('labels', get('r'))})`)}
        ;; s[y] = l[y] − max, recomputed from the logits (drow now holds e)
        ${set('max', f32(-Infinity))}
        ${set('j', i32(0))}
        (block $max2_done
          (loop $max2
            (br_if $max2_done (i32.ge_s ${get('j')} ${get('cols')}))
            ${set('v', `(f32.load ${at('row', get('j'))})`)}
            (if (f32.gt ${get('v')} ${get('max')}) (then ${set('max', get('v'))}))
            ${set('j', add(get('j'), i32(1)))}
            (br $max2)))
        ${set('total', `(f64.add ${get('total')} (f64.sub (f64.promote_f32 (f32.load ${at('logs', get('r'))}))
          (f64.sub (f64.promote_f32 (f32.load ${at('row', get('y'))})) (f64.promote_f32 ${get('max')}))))`)}
        ${set('inv', `(f32.div ${f32(1)} (f32.load ${at('work', get('r'))}))`)}
        ${set('j', i32(0))}
        (block $n_done
          (loop $nl
            (br_if $n_done (i32.ge_s ${get('j')} ${get('cols')}))
            ${set('v', `(f32.mul (f32.load ${at('drow', get('j'))}) ${get('inv')})`)}
            (if (i32.eq ${get('j')} ${get('y')}) (then ${set('v', `(f32.sub ${get('v')} ${f32(1)})`)}))
            (f32.store ${at('drow', get('j'))} (f32.mul ${get('scale')} ${get('v')}))
            ${set('j', add(get('j'), i32(1)))}
            (br $nl)))
        ${set('r', add(get('r'), i32(1)))}
        (br $p5)))
    ${get('total')})`;
}
