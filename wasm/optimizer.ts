/**
 * WAT of `optimizer_step`, the wasm `Backend.optimizerStep` (op vocabulary and arithmetic
 * contract: src/kernels/optimizer-ops.ts). Each op computes in float64 from the float32 values
 * it reads and rounds to float32 where the reference stores, so the result is bit-identical to
 * the TypeScript transforms: four floats are loaded as one f32x4, promoted to two f64x2 halves,
 * computed, and demoted back (wasm float64 arithmetic, √ included, is IEEE-exact like JS's).
 *
 * One pass: the parameter is walked in blocks of BLOCK floats; every op of the program runs over
 * the block while it is in L1, then w += u. The op loops run whole vectors, so the last block may
 * compute up to three floats past n: that is the regions' padding (the memory contract in
 * generate.ts), never copied out.
 *
 * Program layout (what src/kernels/wasm/create-backend.ts copies in): `prog` points at nops × 8 float64
 * slots, [opcode, args…]; `states` at one i32 byte offset per state buffer, in program order.
 * The JS side validates the program first, so an unknown opcode never reaches this code.
 */
import { OP_SLOTS, OPCODE } from '../src/kernels/optimizer-ops.js';
import { add, get, hi, i32, join, lo, set } from './wat.js';

const BLOCK = 512;
/** The opcodes and the slot layout come from the TypeScript vocabulary itself (one table). */
const OP_BYTES = OP_SLOTS * 8;

/**
 * x rounded to float32 and back: the value the reference reads back after storing x (only for
 * values used again after their store; `join` itself rounds what is stored).
 */
const round = (x: string) => `(f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero ${x}))`;
const f64 = (op: string, a: string, b: string) => `(f64x2.${op} ${a} ${b})`;
const fadd = (a: string, b: string) => f64('add', a, b);
const fmul = (a: string, b: string) => f64('mul', a, b);
const fdiv = (a: string, b: string) => f64('div', a, b);
const HALVES = [['l', lo], ['h', hi]] as const;

interface OpLoop {
  /** Byte offsets of the arrays the loop walks together, 16 bytes per step; `$<name>4` holds each one's vector. */
  ptrs: string[];
  /** f64x2 locals computed per half: `$<name>l` and `$<name>h`. */
  halfLocals: string[];
  /** v128 locals set once before the loop (splatted scalars, masks), with their values. */
  constants: [string, string][];
  /** Statements for one half, given its suffix ('l' or 'h') and its promote function. */
  half: (h: string, promote: (v: string) => string) => string[];
  /** Statements after both halves (the stores). */
  stores: string[];
}

/** A loop over `end` bytes of the arrays in `ptrs`. */
function opLoop(name: string, params: string, o: OpLoop): string {
  const locals = [
    ...o.ptrs.map((p) => `${p}4`), ...o.constants.map(([c]) => c), ...HALVES.flatMap(([h]) => o.halfLocals.map((l) => `${l}${h}`)),
  ].map((l) => `(local $${l} v128)`).join(' ');
  return `
  (func $${name} ${params}
    (local $i i32) ${locals}
    ${o.constants.map(([c, value]) => set(c, value)).join('\n    ')}
    (block $done
      (loop $next
        (br_if $done (i32.ge_s ${get('i')} ${get('end')}))
        ${o.ptrs.map((p) => set(`${p}4`, `(v128.load ${add(get(p), get('i'))})`)).join('\n        ')}
        ${HALVES.flatMap(([h, promote]) => o.half(h, promote)).join('\n        ')}
        ${o.stores.join('\n        ')}
        ${set('i', add(get('i'), i32(16)))}
        (br $next))))`;
}

const store = (ptr: string, local: string) => `(v128.store ${add(get(ptr), get('i'))} ${join(get(`${local}l`), get(`${local}h`))})`;
const splat64 = (x: string) => `(f64x2.splat ${x})`;
/** All ones in both lanes when the i32 flag is nonzero (for v128.bitselect). */
const mask = (flag: string) => `(i64x2.splat (i64.extend_i32_s (i32.sub ${i32(0)} (i32.ne ${flag} ${i32(0)}))))`;
const ADAM_ARGS = ['b1', 'omb1', 'b2', 'omb2', 'bc1', 'sbc2', 'eps'];

export function optimizerStep(): string {
  return `
  ;; ---- fused optimizer step (wasm/optimizer.ts) ----
  ;; u ← u + c·w
${opLoop('opt_add_scaled_weights', '(param $u i32) (param $w i32) (param $end i32) (param $c f64)', {
    ptrs: ['u', 'w'], halfLocals: ['r'], constants: [['c2', splat64(get('c'))]],
    half: (h, promote) => [set(`r${h}`, fadd(promote(get('u4')), fmul(get('c2'), promote(get('w4')))))],
    stores: [store('u', 'r')],
  })}
  ;; u ← s·u
${opLoop('opt_scale', '(param $u i32) (param $end i32) (param $s f64)', {
    ptrs: ['u'], halfLocals: ['r'], constants: [['s2', splat64(get('s'))]],
    half: (h, promote) => [set(`r${h}`, fmul(promote(get('u4')), get('s2')))],
    stores: [store('u', 'r')],
  })}
  ;; b ← u (first step) or μ·b + keep·u; then u ← u + μ·b (Nesterov) or b. Both sides of each
  ;; choice are computed and one is selected: the flags are per call, the cost is a few flops.
${opLoop('opt_momentum', '(param $u i32) (param $b i32) (param $end i32) (param $mu f64) (param $keep f64) (param $nesterov i32) (param $first i32)', {
    ptrs: ['u', 'b'], halfLocals: ['g', 'nb', 'r'],
    constants: [['mu2', splat64(get('mu'))], ['keep2', splat64(get('keep'))], ['nm', mask(get('nesterov'))], ['fm', mask(get('first'))]],
    half: (h, promote) => [
      set(`g${h}`, promote(get('u4'))),
      set(`nb${h}`, `(v128.bitselect ${get(`g${h}`)} ${round(fadd(fmul(get('mu2'), promote(get('b4'))), fmul(get('keep2'), get(`g${h}`))))} ${get('fm')})`),
      set(`r${h}`, `(v128.bitselect ${fadd(get(`g${h}`), fmul(get('mu2'), get(`nb${h}`)))} ${get(`nb${h}`)} ${get('nm')})`),
    ],
    stores: [store('b', 'nb'), store('u', 'r')],
  })}
  ;; m ← β1·m + (1−β1)·g; v ← β2·v + ((1−β2)·g)·g; u ← (m/bc1)/(√v/√bc2 + ε̂); scalars at args+8…56
${opLoop('opt_adam', '(param $u i32) (param $m i32) (param $v i32) (param $end i32) (param $args i32)', {
    ptrs: ['u', 'm', 'v'], halfLocals: ['g', 'nm', 'nv', 'r'],
    constants: ADAM_ARGS.map((a, k) => [a, splat64(`(f64.load offset=${8 * (k + 1)} ${get('args')})`)]),
    half: (h, promote) => [
      set(`g${h}`, promote(get('u4'))),
      set(`nm${h}`, round(fadd(fmul(get('b1'), promote(get('m4'))), fmul(get('omb1'), get(`g${h}`))))),
      set(`nv${h}`, round(fadd(fmul(get('b2'), promote(get('v4'))), fmul(fmul(get('omb2'), get(`g${h}`)), get(`g${h}`))))),
      set(`r${h}`, fdiv(fdiv(get(`nm${h}`), get('bc1')), fadd(fdiv(`(f64x2.sqrt ${get(`nv${h}`)})`, get('sbc2')), get('eps')))),
    ],
    stores: [store('m', 'nm'), store('v', 'nv'), store('u', 'r')],
  })}
  ;; w ← w + u
${opLoop('opt_add_into', '(param $w i32) (param $u i32) (param $end i32)', {
    ptrs: ['w', 'u'], halfLocals: ['r'], constants: [],
    half: (h, promote) => [set(`r${h}`, fadd(promote(get('w4')), promote(get('u4'))))],
    stores: [store('w', 'r')],
  })}

  ;; The driver: blocks of ${BLOCK} floats, every op over the block, then w += u.
  (func (export "optimizer_step") (param $w i32) (param $u i32) (param $n i32) (param $prog i32) (param $nops i32) (param $states i32)
    (local $i0 i32) (local $off i32) (local $end i32) (local $k i32) (local $a i32) (local $s i32) (local $code i32) (local $x f64)
    (block $blocks_done
      (loop $blocks
        (br_if $blocks_done (i32.ge_s ${get('i0')} ${get('n')}))
        ${set('end', `(i32.shl (select (i32.sub ${get('n')} ${get('i0')}) ${i32(BLOCK)} (i32.lt_s (i32.sub ${get('n')} ${get('i0')}) ${i32(BLOCK)})) ${i32(2)})`)}
        ${set('off', `(i32.shl ${get('i0')} ${i32(2)})`)}
        ${set('k', i32(0))}
        ${set('a', get('prog'))}
        ${set('s', get('states'))}
        (block $ops_done
          (loop $ops
            (br_if $ops_done (i32.ge_s ${get('k')} ${get('nops')}))
            ${set('code', `(i32.trunc_f64_s (f64.load ${get('a')}))`)}
            ${set('x', `(f64.load offset=8 ${get('a')})`)}
            (if (i32.eq ${get('code')} ${i32(OPCODE.addScaledWeights)}) (then
              (if (f64.ne ${get('x')} (f64.const 0)) (then
                (call $opt_add_scaled_weights ${add(get('u'), get('off'))} ${add(get('w'), get('off'))} ${get('end')} ${get('x')})))))
            (if (i32.eq ${get('code')} ${i32(OPCODE.scale)}) (then
              (if (f64.ne ${get('x')} (f64.const 1)) (then
                (call $opt_scale ${add(get('u'), get('off'))} ${get('end')} ${get('x')})))))
            (if (i32.eq ${get('code')} ${i32(OPCODE.momentum)}) (then
              (call $opt_momentum ${add(get('u'), get('off'))} ${add(`(i32.load ${get('s')})`, get('off'))} ${get('end')}
                ${get('x')} (f64.load offset=16 ${get('a')})
                (f64.ne (f64.load offset=24 ${get('a')}) (f64.const 0)) (f64.ne (f64.load offset=32 ${get('a')}) (f64.const 0)))
              ${set('s', add(get('s'), i32(4)))}))
            (if (i32.eq ${get('code')} ${i32(OPCODE.adam)}) (then
              (call $opt_adam ${add(get('u'), get('off'))} ${add(`(i32.load ${get('s')})`, get('off'))}
                ${add(`(i32.load offset=4 ${get('s')})`, get('off'))} ${get('end')} ${get('a')})
              ${set('s', add(get('s'), i32(8)))}))
            ${set('a', add(get('a'), i32(OP_BYTES)))}
            ${set('k', add(get('k'), i32(1)))}
            (br $ops)))
        (call $opt_add_into ${add(get('w'), get('off'))} ${add(get('u'), get('off'))} ${get('end')})
        ${set('i0', add(get('i0'), i32(BLOCK)))}
        (br $blocks))))`;
}
