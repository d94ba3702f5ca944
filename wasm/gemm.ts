/**
 * The GEMM's WAT: the MR×NR register-blocked micro-kernel, the edge store, the panel packing
 * and the cache-blocked driver (see generate.ts for the variants and the memory contract).
 */
import type { KernelOptions } from './generate.js';
import { add, f32, get, i32, mul, set, shuffle } from './wat.js';

/**
 * C[MR×NR] ← α·Ã·B̃ + β·C over kc steps of packed panels: Ã holds MR values of op(A) per k
 * step, B̃ NR values of op(B). Accumulators live in locals (registers); α and β are applied
 * once at the store, and β = 0 stores without reading C.
 */
export function microKernel(o: KernelOptions, fma: (a: string, b: string, c: string) => string): string {
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
export function edgeStore(o: KernelOptions): string {
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
export function packPanels(which: 'a' | 'b', W: number, _kc: number): string {
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
export function gemmDriver(o: KernelOptions, tileBytes: number, packABytes: number): string {
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
