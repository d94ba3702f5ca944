/**
 * Elementwise kernels' WAT: whole f32x4 vectors over ceil(n/4)·4 elements (the memory
 * contract in generate.ts allows the tail).
 */
import { add, get, i32, mul, set, splat } from './wat.js';

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

export function elementwise(): string {
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
