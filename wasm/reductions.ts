/** Float64 reductions (Σ, Σx²) and the fused softmax cross-entropy, as WAT. */
import { add, f32, get, hi, i32, lo, mul, set, shuffle } from './wat.js';

export function reductions(): string {
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

export function softmaxCrossEntropy(): string {
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
