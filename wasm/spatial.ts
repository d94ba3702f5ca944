/**
 * WAT of the convolution, pooling and per-channel kernels (Backend.im2col … channelCombine),
 * the wasm backend's versions of src/kernels/js/spatial.ts. Semantics, loop order and
 * arithmetic are the reference's:
 *  - data movement (im2col, swapAxes01, maxPool with its tie and NaN rules, the backwards'
 *    scatter) visits elements in the reference's order, so the results are the same bits;
 *  - arithmetic the reference does in float64 (a JS number) is float64 here: the bias/scale of
 *    channelAffine and channelCombine on f64x2 lanes, rounded to float32 once at the store
 *    (the same bits), the pooling sums, and the per-channel sums (channelMoments, channelSums),
 *    which add in four float64 lanes instead of one running sum (≈ 1e-16 relative apart).
 * Every kernel writes exactly the elements it was given (vector loops stop at a multiple of 4,
 * scalar tails finish), so outputs can be used in place whatever their length.
 * Pointers are byte offsets; counts are elements. The geometry arrives as separate i32s.
 */
import { add, get, hi, i32, join, lo, set, shuffle } from './wat.js';

const shl2 = (x: string) => `(i32.shl ${x} ${i32(2)})`;
const at = (base: string, index: string) => add(get(base), shl2(index));
const locals = (names: string, type = 'i32') => names.split(' ').map((n) => `(local $${n} ${type})`).join(' ');

/** `for (var = from; var < to; var++) body` */
const loop = (v: string, from: string, to: string, body: string) => `
    ${set(v, from)}
    (block $${v}_done (loop $${v}_loop
      (br_if $${v}_done (i32.ge_s ${get(v)} ${to}))
      ${body}
      ${set(v, add(get(v), i32(1)))}
      (br $${v}_loop)))`;

/** A helper that zeroes n floats at p (vectors, then a scalar tail). */
const zeroFunction = `
  (func $zero (param $p i32) (param $n i32)
    (local $i i32) (local $vend i32)
    ${set('vend', `(i32.and ${get('n')} ${i32(-4)})`)}
    (block $v_done (loop $v
      (br_if $v_done (i32.ge_s ${get('i')} ${get('vend')}))
      (v128.store ${at('p', get('i'))} (v128.const i32x4 0 0 0 0))
      ${set('i', add(get('i'), i32(4)))}
      (br $v)))
    (block $s_done (loop $s
      (br_if $s_done (i32.ge_s ${get('i')} ${get('n')}))
      (f32.store ${at('p', get('i'))} (f32.const 0))
      ${set('i', add(get('i'), i32(1)))}
      (br $s))))`;

/** A helper that copies n floats from src to dst (regions do not overlap). */
const copyFunction = `
  (func $copy (param $dst i32) (param $src i32) (param $n i32)
    (local $i i32) (local $vend i32)
    ${set('vend', `(i32.and ${get('n')} ${i32(-4)})`)}
    (block $v_done (loop $v
      (br_if $v_done (i32.ge_s ${get('i')} ${get('vend')}))
      (v128.store ${at('dst', get('i'))} (v128.load ${at('src', get('i'))}))
      ${set('i', add(get('i'), i32(4)))}
      (br $v)))
    (block $s_done (loop $s
      (br_if $s_done (i32.ge_s ${get('i')} ${get('n')}))
      (f32.store ${at('dst', get('i'))} (f32.load ${at('src', get('i'))}))
      ${set('i', add(get('i'), i32(1)))}
      (br $s))))`;

const CONV_PARAMS = '(param $C i32) (param $H i32) (param $W i32) (param $k i32) (param $stride i32) (param $pad i32) (param $OH i32) (param $OW i32)';

/**
 * The columns ow of one im2col row whose tap w = ow·stride − pad + j lies inside [0, W):
 * [lo, hi). They depend on j only, so both conv kernels compute them once per j.
 */
const tapRange = `
      ;; lo = ceil((pad − j) / stride) when positive, hi = min(OW, ceil((W + pad − j) / stride))
      ${set('lo', `(i32.sub ${get('pad')} ${get('j')})`)}
      ${set('lo', `(select (i32.div_s (i32.add ${get('lo')} (i32.sub ${get('stride')} ${i32(1)})) ${get('stride')}) ${i32(0)} (i32.gt_s ${get('lo')} ${i32(0)}))`)}
      ${set('hi', `(i32.sub (i32.add ${get('W')} ${get('pad')}) ${get('j')})`)}
      ${set('hi', `(select (i32.div_s (i32.add ${get('hi')} (i32.sub ${get('stride')} ${i32(1)})) ${get('stride')}) ${i32(0)} (i32.gt_s ${get('hi')} ${i32(0)}))`)}
      ${set('hi', `(select ${get('hi')} ${get('OW')} (i32.lt_s ${get('hi')} ${get('OW')}))`)}
      ${set('lo', `(select ${get('lo')} ${get('hi')} (i32.lt_s ${get('lo')} ${get('hi')}))`)}`;

/** Walks cols in its row-major order (c, i, j, b, oh, ow) with `dst` its element index; `inside(row)` for a tap row inside the image. */
const forEachTapRow = (outside: string, inside: string) => `
    ${set('plane', mul3('H', 'W'))}
    ${set('dst', i32(0))}
    ${loop('c', i32(0), get('C'), `
      ${loop('i', i32(0), get('k'), `
        ${loop('j', i32(0), get('k'), `
          ${tapRange}
          ${loop('b', i32(0), get('batch'), `
            ${set('base', `(i32.mul (i32.add (i32.mul ${get('b')} ${get('C')}) ${get('c')}) ${get('plane')})`)}
            ${loop('oh', i32(0), get('OH'), `
              ${set('h', `(i32.add (i32.sub (i32.mul ${get('oh')} ${get('stride')}) ${get('pad')}) ${get('i')})`)}
              (if (i32.and (i32.ge_s ${get('h')} ${i32(0)}) (i32.lt_s ${get('h')} ${get('H')}))
                (then
                  ;; source index of the first inside tap: base + h·W + lo·stride − pad + j
                  ${set('src', `(i32.add (i32.add ${get('base')} (i32.mul ${get('h')} ${get('W')})) (i32.add (i32.sub (i32.mul ${get('lo')} ${get('stride')}) ${get('pad')}) ${get('j')}))`)}
                  ${inside})
                (else ${outside}))
              ${set('dst', add(get('dst'), get('OW')))}`)}`)}`)}`)}`)}`;
const mul3 = (a: string, b: string) => `(i32.mul ${get(a)} ${get(b)})`;

function im2col(): string {
  return `
  ;; cols[(c·k + i)·k + j, (b·OH + oh)·OW + ow] = x[b, c, oh·stride − pad + i, ow·stride − pad + j], 0 in the padding
  (func (export "im2col") (param $x i32) (param $batch i32) ${CONV_PARAMS} (param $cols i32)
    ${locals('c i j b oh ow h lo hi src dst plane base p')}
    ${forEachTapRow(`(call $zero ${at('cols', get('dst'))} ${get('OW')})`, `
                  (call $zero ${at('cols', get('dst'))} ${get('lo')})
                  ${set('p', at('cols', add(get('dst'), get('lo'))))}
                  (if (i32.eq ${get('stride')} ${i32(1)})
                    (then (call $copy ${get('p')} ${at('x', get('src'))} (i32.sub ${get('hi')} ${get('lo')})))
                    (else
                      ${loop('ow', get('lo'), get('hi'), `
                        (f32.store ${get('p')} (f32.load ${at('x', get('src'))}))
                        ${set('p', add(get('p'), i32(4)))}
                        ${set('src', add(get('src'), get('stride')))}`)}))
                  (call $zero ${at('cols', add(get('dst'), get('hi')))} (i32.sub ${get('OW')} ${get('hi')}))`)})`;
}

function col2im(): string {
  return `
  ;; dx = 0, then dx[b, c, h, w] += cols[…] over the taps in im2col's order (float32 adds, as the reference)
  (func (export "col2im") (param $cols i32) (param $batch i32) ${CONV_PARAMS} (param $dx i32)
    ${locals('c i j b oh ow h lo hi src dst plane base p q')}
    (call $zero ${get('dx')} (i32.mul (i32.mul ${get('batch')} ${get('C')}) (i32.mul ${get('H')} ${get('W')})))
    ${forEachTapRow('', `
                  ${set('p', at('cols', add(get('dst'), get('lo'))))}
                  ${set('q', at('dx', get('src')))}
                  ${loop('ow', get('lo'), get('hi'), `
                    (f32.store ${get('q')} (f32.add (f32.load ${get('q')}) (f32.load ${get('p')})))
                    ${set('p', add(get('p'), i32(4)))}
                    ${set('q', add(get('q'), shl2(get('stride'))))}`)}`)})`;
}

function swapAxes01(): string {
  return `
  ;; out[j, i, :] = x[i, j, :] for x of shape [d0, d1, inner]
  (func (export "swap_axes01") (param $x i32) (param $d0 i32) (param $d1 i32) (param $inner i32) (param $out i32)
    ${locals('i j')}
    ${loop('i', i32(0), get('d0'), loop('j', i32(0), get('d1'), `
      (call $copy ${at('out', `(i32.mul (i32.add (i32.mul ${get('j')} ${get('d0')}) ${get('i')}) ${get('inner')})`)}
        ${at('x', `(i32.mul (i32.add (i32.mul ${get('i')} ${get('d1')}) ${get('j')}) ${get('inner')})`)} ${get('inner')})`))})`;
}

const POOL_PARAMS = '(param $planes i32) (param $H i32) (param $W i32) (param $kh i32) (param $kw i32) (param $stride i32) (param $OH i32) (param $OW i32)';

/** Visits every window (p, oh, ow) with `o` its output index and `top` the input index of its top-left pixel; `start`, per pixel `pixel` (with `src`), `end`. */
const forEachWindow = (start: string, pixel: string, end: string) => `
    ${set('o', i32(0))}
    ${loop('p', i32(0), get('planes'), loop('oh', i32(0), get('OH'), loop('ow', i32(0), get('OW'), `
      ${set('top', `(i32.add (i32.mul ${get('p')} (i32.mul ${get('H')} ${get('W')})) (i32.add (i32.mul (i32.mul ${get('oh')} ${get('stride')}) ${get('W')}) (i32.mul ${get('ow')} ${get('stride')})))`)}
      ${start}
      ${loop('i', i32(0), get('kh'), loop('j', i32(0), get('kw'), `
        ${set('src', `(i32.add ${get('top')} (i32.add (i32.mul ${get('i')} ${get('W')}) ${get('j')}))`)}
        ${pixel}`))}
      ${end}
      ${set('o', add(get('o'), i32(1)))}`)))}`;

/** One pixel of a 2×2 window after the first: taken when strictly greater or NaN (the reference's rule), branch-free. */
const take2x2 = (offset: string, index: string) => `
        ${set('v', `(f32.load ${add(get('src'), offset)})`)}
        ${set('t', `(i32.or (f32.gt ${get('v')} ${get('m')}) (f32.ne ${get('v')} ${get('v')}))`)}
        ${set('m', `(select ${get('v')} ${get('m')} ${get('t')})`)}
        ${set('best', `(select ${index} ${get('best')} ${get('t')})`)}`;

/** The same for four windows in lanes: `pixels` their next pixel, `offset` its index relative to `idx` per lane. */
const take2x2v = (pixels: string, offset: string) => `
        ${set('vv', pixels)}
        ${set('vt', `(v128.or (f32x4.gt ${get('vv')} ${get('vm')}) (f32x4.ne ${get('vv')} ${get('vv')}))`)}
        ${set('vm', `(v128.bitselect ${get('vv')} ${get('vm')} ${get('vt')})`)}
        ${set('vbest', `(v128.bitselect (i32x4.add (i32x4.splat ${get('idx')}) ${offset}) ${get('vbest')} ${get('vt')})`)}`;

function pooling(): string {
  return `
  ;; max_pool's common case, 2×2 windows at stride 2: the four pixels in row-major order, no inner loops
  (func $max_pool_2x2 (param $x i32) (param $planes i32) (param $H i32) (param $W i32) (param $OH i32) (param $OW i32) (param $y i32) (param $argmax i32)
    ${locals('p oh ow o src idx best t rowBytes')} ${locals('m v', 'f32')} ${locals('r0 r1 vm vbest vt vv', 'v128')}
    ${set('rowBytes', shl2(get('W')))}
    ${set('o', i32(0))}
    ${loop('p', i32(0), get('planes'), loop('oh', i32(0), get('OH'), `
      ${set('idx', `(i32.mul (i32.mul ${get('oh')} ${i32(2)}) ${get('W')})`)}
      ${set('src', at('x', `(i32.add (i32.mul ${get('p')} (i32.mul ${get('H')} ${get('W')})) ${get('idx')})`))}
      ;; four outputs at a time: even and odd lanes of 8 floats of both rows are the window's pixels
      ${set('ow', i32(0))}
      (block $vec_done (loop $vec
        (br_if $vec_done (i32.gt_s (i32.add ${get('ow')} ${i32(4)}) ${get('OW')}))
        ${set('r0', `(v128.load ${get('src')})`)} ${set('r1', `(v128.load offset=16 ${get('src')})`)}
        ${set('vm', shuffle([0, 2, 4, 6], get('r0'), get('r1')))}
        ${set('vbest', `(i32x4.add (i32x4.splat ${get('idx')}) (v128.const i32x4 0 2 4 6))`)}
        ${take2x2v(shuffle([1, 3, 5, 7], get('r0'), get('r1')), '(v128.const i32x4 1 3 5 7)')}
        ${set('r0', `(v128.load ${add(get('src'), get('rowBytes'))})`)} ${set('r1', `(v128.load offset=16 ${add(get('src'), get('rowBytes'))})`)}
        ${take2x2v(shuffle([0, 2, 4, 6], get('r0'), get('r1')), `(i32x4.add (i32x4.splat ${get('W')}) (v128.const i32x4 0 2 4 6))`)}
        ${take2x2v(shuffle([1, 3, 5, 7], get('r0'), get('r1')), `(i32x4.add (i32x4.splat ${get('W')}) (v128.const i32x4 1 3 5 7))`)}
        (v128.store ${at('y', get('o'))} ${get('vm')})
        (v128.store ${at('argmax', get('o'))} ${get('vbest')})
        ${set('o', add(get('o'), i32(4)))}
        ${set('idx', add(get('idx'), i32(8)))}
        ${set('src', add(get('src'), i32(32)))}
        ${set('ow', add(get('ow'), i32(4)))}
        (br $vec)))
      ${loop('ow', get('ow'), get('OW'), `
        ${set('m', `(f32.load ${get('src')})`)} ${set('best', get('idx'))}
        ${take2x2(i32(4), add(get('idx'), i32(1)))}
        ${take2x2(get('rowBytes'), add(get('idx'), get('W')))}
        ${take2x2(add(get('rowBytes'), i32(4)), add(add(get('idx'), get('W')), i32(1)))}
        (f32.store ${at('y', get('o'))} ${get('m')})
        (i32.store ${at('argmax', get('o'))} ${get('best')})
        ${set('o', add(get('o'), i32(1)))}
        ${set('idx', add(get('idx'), i32(2)))}
        ${set('src', add(get('src'), i32(8)))}`)}`))})

  ;; y = the window's maximum, argmax = its index in the plane; as the reference (and PyTorch's CPU
  ;; kernel): strictly greater, so the first maximum wins a tie, and a NaN is always taken
  (func (export "max_pool") (param $x i32) ${POOL_PARAMS} (param $y i32) (param $argmax i32)
    ${locals('p oh ow i j o top src best')} ${locals('m v', 'f32')}
    (if (i32.and (i32.and (i32.eq ${get('kh')} ${i32(2)}) (i32.eq ${get('kw')} ${i32(2)})) (i32.eq ${get('stride')} ${i32(2)}))
      (then (call $max_pool_2x2 ${get('x')} ${get('planes')} ${get('H')} ${get('W')} ${get('OH')} ${get('OW')} ${get('y')} ${get('argmax')}) (return)))
    ${forEachWindow(`${set('m', '(f32.const -inf)')} ${set('best', i32(-1))}`, `
        ${set('v', `(f32.load ${at('x', get('src'))})`)}
        (if (i32.or (i32.or (f32.gt ${get('v')} ${get('m')}) (i32.lt_s ${get('best')} ${i32(0)})) (f32.ne ${get('v')} ${get('v')}))
          (then ${set('m', get('v'))} ${set('best', `(i32.sub ${get('src')} (i32.mul ${get('p')} (i32.mul ${get('H')} ${get('W')})))`)}))`, `
      (f32.store ${at('y', get('o'))} ${get('m')})
      (i32.store ${at('argmax', get('o'))} ${get('best')})`)})

  ;; dx = 0, then dx[p, argmax[p, o]] += dy[p, o] in (p, o) order; an index outside the plane is skipped
  (func (export "max_pool_backward") (param $dy i32) (param $argmax i32) (param $planes i32) (param $plane i32) (param $outPlane i32) (param $dx i32)
    ${locals('p o a q')}
    (call $zero ${get('dx')} (i32.mul ${get('planes')} ${get('plane')}))
    ${loop('p', i32(0), get('planes'), loop('o', i32(0), get('outPlane'), `
      ${set('q', `(i32.add (i32.mul ${get('p')} ${get('outPlane')}) ${get('o')})`)}
      ${set('a', `(i32.load ${at('argmax', get('q'))})`)}
      (if (i32.lt_u ${get('a')} ${get('plane')}) (then
        ${set('a', at('dx', `(i32.add (i32.mul ${get('p')} ${get('plane')}) ${get('a')})`))}
        (f32.store ${get('a')} (f32.add (f32.load ${get('a')}) (f32.load ${at('dy', get('q'))})))))`))})

  ;; y = (float64 sum of the window) / area, rounded once
  (func (export "avg_pool") (param $x i32) ${POOL_PARAMS} (param $y i32)
    ${locals('p oh ow i j o top src')} ${locals('sum area', 'f64')}
    ${set('area', '(f64.convert_i32_s (i32.mul (local.get $kh) (local.get $kw)))')}
    ${forEachWindow(set('sum', '(f64.const 0)'), `
        ${set('sum', `(f64.add ${get('sum')} (f64.promote_f32 (f32.load ${at('x', get('src'))})))`)}`, `
      (f32.store ${at('y', get('o'))} (f32.demote_f64 (f64.div ${get('sum')} ${get('area')})))`)})

  ;; dx = 0, then dx[pixel] += dy[o] / area (the quotient in float64, each add rounded to float32)
  (func (export "avg_pool_backward") (param $dy i32) ${POOL_PARAMS} (param $dx i32)
    ${locals('p oh ow i j o top src q')} ${locals('g area', 'f64')}
    ${set('area', '(f64.convert_i32_s (i32.mul (local.get $kh) (local.get $kw)))')}
    (call $zero ${get('dx')} (i32.mul ${get('planes')} (i32.mul ${get('H')} ${get('W')})))
    ${forEachWindow(set('g', `(f64.div (f64.promote_f32 (f32.load ${at('dy', get('o'))})) ${get('area')})`), `
        ${set('q', at('dx', get('src')))}
        (f32.store ${get('q')} (f32.demote_f64 (f64.add (f64.promote_f32 (f32.load ${get('q')})) ${get('g')})))`, '')})`;
}

/**
 * A loop over the s floats of one (row, channel) run at byte offset `o`: `vector` per f32x4
 * (locals `$xl`/`$xh` … are the caller's), `scalar` per tail element, both with `$t` the element.
 */
const run = (vector: string, scalar: string) => `
        ${set('t', i32(0))}
        (block $v_done (loop $v
          (br_if $v_done (i32.ge_s ${get('t')} ${get('vend')}))
          ${set('q', add(get('o'), shl2(get('t'))))}
          ${vector}
          ${set('t', add(get('t'), i32(4)))}
          (br $v)))
        (block $s_done (loop $s
          (br_if $s_done (i32.ge_s ${get('t')} ${get('s')}))
          ${set('q', add(get('o'), shl2(get('t'))))}
          ${scalar}
          ${set('t', add(get('t'), i32(1)))}
          (br $s)))`;

/** Byte offset of run (r, ch) in an [n, c, s] tensor. */
const runOffset = (r: string) => shl2(`(i32.mul (i32.add (i32.mul ${get(r)} ${get('c')}) ${get('ch')}) ${get('s')})`);
const v4 = (base: string) => `(v128.load ${add(get(base), get('q'))})`;
const f1 = (base: string) => `(f64.promote_f32 (f32.load ${add(get(base), get('q'))}))`;
const f64x2 = (op: string, a: string, b: string) => `(f64x2.${op} ${a} ${b})`;
const sumLanes = (v: string) => `(f64.add (f64x2.extract_lane 0 ${v}) (f64x2.extract_lane 1 ${v}))`;
/** a' = a, or 0 where the mask is not > 0 (NaN included), as the reference's fused-ReLU mask. */
const maskedVector = `(select (v128.and ${v4('a')} (f32x4.gt ${v4('mask')} (v128.const f32x4 0 0 0 0))) ${v4('a')} ${get('masked')})`;
const maskedScalar = `(select (select ${f1('a')} (f64.const 0) (f32.gt (f32.load ${add(get('mask'), get('q'))}) (f32.const 0))) ${f1('a')} ${get('masked')})`;

function channels(): string {
  /** Σ value(x) over a channel into $sum: `value(x, vec)` of one f64x2 (vec) or one f64 (the tail). */
  const moments = (value: (x: string, vec: boolean) => string) => `
    ${set('acc', '(v128.const i32x4 0 0 0 0)')} ${set('acc2', '(v128.const i32x4 0 0 0 0)')} ${set('sum', '(f64.const 0)')}
    ${loop('r', i32(0), get('n'), `
      ${set('o', add(get('x'), runOffset('r')))}
      ${run(`
          ${set('xv', v4('o0'))}
          ${set('acc', f64x2('add', get('acc'), value(lo(get('xv')), true)))}
          ${set('acc2', f64x2('add', get('acc2'), value(hi(get('xv')), true)))}`,
        set('sum', `(f64.add ${get('sum')} ${value(f1('o0'), false)})`))}`)}
    ${set('sum', `(f64.add ${get('sum')} ${sumLanes(f64x2('add', get('acc'), get('acc2')))})`)}`;
  return `
  ;; mean[c] and biased variance[c] over the n·s values of each channel of x[n, c, s]: two passes in float64
  (func (export "channel_moments") (param $x i32) (param $n i32) (param $c i32) (param $s i32) (param $mean i32) (param $variance i32)
    ${locals('ch r t o q vend o0')} ${locals('acc acc2 xv mu2', 'v128')} ${locals('sum mu count', 'f64')}
    ${set('vend', `(i32.and ${get('s')} ${i32(-4)})`)}
    ${set('o0', i32(0))}
    ${set('count', `(f64.convert_i32_s (i32.mul ${get('n')} ${get('s')}))`)}
    ${loop('ch', i32(0), get('c'), `
      ${moments((x) => x)}
      ${set('mu', `(f64.div ${get('sum')} ${get('count')})`)}
      ${set('mu2', `(f64x2.splat ${get('mu')})`)}
      ${moments((x, vec) => vec
        ? `(f64x2.mul (f64x2.sub ${x} ${get('mu2')}) (f64x2.sub ${x} ${get('mu2')}))`
        : `(f64.mul (f64.sub ${x} ${get('mu')}) (f64.sub ${x} ${get('mu')}))`)}
      (f32.store ${at('mean', get('ch'))} (f32.demote_f64 ${get('mu')}))
      (f32.store ${at('variance', get('ch'))} (f32.demote_f64 (f64.div ${get('sum')} ${get('count')})))`)})

  ;; y = scale[c]·x + shift[c] in float64, rounded once, then max(·, 0) when relu (NaN → 0)
  (func (export "channel_affine") (param $x i32) (param $n i32) (param $c i32) (param $s i32) (param $scale i32) (param $shift i32) (param $y i32) (param $relu i32)
    ${locals('ch r t o q vend o0')} ${locals('a2 k2 xv rl rh', 'v128')} ${locals('a k v', 'f64')}
    ${set('vend', `(i32.and ${get('s')} ${i32(-4)})`)}
    ${loop('r', i32(0), get('n'), loop('ch', i32(0), get('c'), `
      ${set('a', `(f64.promote_f32 (f32.load ${at('scale', get('ch'))}))`)} ${set('k', `(f64.promote_f32 (f32.load ${at('shift', get('ch'))}))`)}
      ${set('a2', `(f64x2.splat ${get('a')})`)} ${set('k2', `(f64x2.splat ${get('k')})`)}
      ${set('o0', runOffset('r'))}
      ${set('o', get('o0'))}
      ${run(`
          ${set('xv', `(v128.load ${add(get('x'), get('q'))})`)}
          ${set('rl', f64x2('add', f64x2('mul', get('a2'), lo(get('xv'))), get('k2')))}
          ${set('rh', f64x2('add', f64x2('mul', get('a2'), hi(get('xv'))), get('k2')))}
          (if ${get('relu')} (then
            ${set('rl', `(v128.and ${get('rl')} (f64x2.gt ${get('rl')} (v128.const i32x4 0 0 0 0)))`)}
            ${set('rh', `(v128.and ${get('rh')} (f64x2.gt ${get('rh')} (v128.const i32x4 0 0 0 0)))`)}))
          (v128.store ${add(get('y'), get('q'))} ${join(get('rl'), get('rh'))})`, `
          ${set('v', `(f64.add (f64.mul ${get('a')} (f64.promote_f32 (f32.load ${add(get('x'), get('q'))}))) ${get('k')})`)}
          (if ${get('relu')} (then ${set('v', `(select ${get('v')} (f64.const 0) (f64.gt ${get('v')} (f64.const 0)))`)}))
          (f32.store ${add(get('y'), get('q'))} (f32.demote_f64 ${get('v')}))`)}`))})

  ;; sumA[c] += Σ a', sumAB[c] += Σ a'·(b − center[c]) over the n·s values of channel c, in float64
  (func (export "channel_sums") (param $a i32) (param $b i32) (param $n i32) (param $c i32) (param $s i32) (param $center i32)
      (param $mask i32) (param $masked i32) (param $sumA i32) (param $sumAB i32)
    ${locals('ch r t o q vend')} ${locals('sa sa2 sb sb2 av bv mid2 al ah', 'v128')} ${locals('mid ssa ssb v', 'f64')}
    ${set('vend', `(i32.and ${get('s')} ${i32(-4)})`)}
    ${loop('ch', i32(0), get('c'), `
      ${set('mid', `(f64.promote_f32 (f32.load ${at('center', get('ch'))}))`)} ${set('mid2', `(f64x2.splat ${get('mid')})`)}
      ${['sa', 'sa2', 'sb', 'sb2'].map((v) => set(v, '(v128.const i32x4 0 0 0 0)')).join(' ')} ${set('ssa', '(f64.const 0)')} ${set('ssb', '(f64.const 0)')}
      ${loop('r', i32(0), get('n'), `
        ${set('o', runOffset('r'))}
        ${run(`
          ${set('av', maskedVector)} ${set('bv', v4('b'))}
          ${set('al', lo(get('av')))} ${set('ah', hi(get('av')))}
          ${set('sa', f64x2('add', get('sa'), get('al')))} ${set('sa2', f64x2('add', get('sa2'), get('ah')))}
          ${set('sb', f64x2('add', get('sb'), f64x2('mul', get('al'), f64x2('sub', lo(get('bv')), get('mid2')))))}
          ${set('sb2', f64x2('add', get('sb2'), f64x2('mul', get('ah'), f64x2('sub', hi(get('bv')), get('mid2')))))}`, `
          ${set('v', maskedScalar)}
          ${set('ssa', `(f64.add ${get('ssa')} ${get('v')})`)}
          ${set('ssb', `(f64.add ${get('ssb')} (f64.mul ${get('v')} (f64.sub ${f1('b')} ${get('mid')})))`)}`)}`)}
      ${set('ssa', `(f64.add ${get('ssa')} ${sumLanes(f64x2('add', get('sa'), get('sa2')))})`)}
      ${set('ssb', `(f64.add ${get('ssb')} ${sumLanes(f64x2('add', get('sb'), get('sb2')))})`)}
      (f32.store ${at('sumA', get('ch'))} (f32.demote_f64 (f64.add (f64.promote_f32 (f32.load ${at('sumA', get('ch'))})) ${get('ssa')})))
      (f32.store ${at('sumAB', get('ch'))} (f32.demote_f64 (f64.add (f64.promote_f32 (f32.load ${at('sumAB', get('ch'))})) ${get('ssb')})))`)})

  ;; out = (α[c]·a' + β[c]·b) + γ[c] in float64, rounded once
  (func (export "channel_combine") (param $a i32) (param $b i32) (param $n i32) (param $c i32) (param $s i32)
      (param $alpha i32) (param $beta i32) (param $gamma i32) (param $mask i32) (param $masked i32) (param $out i32)
    ${locals('ch r t o q vend')} ${locals('p2 q2 k2 av bv', 'v128')} ${locals('p k g', 'f64')}
    ${set('vend', `(i32.and ${get('s')} ${i32(-4)})`)}
    ${loop('r', i32(0), get('n'), loop('ch', i32(0), get('c'), `
      ${set('p', `(f64.promote_f32 (f32.load ${at('alpha', get('ch'))}))`)} ${set('k', `(f64.promote_f32 (f32.load ${at('beta', get('ch'))}))`)}
      ${set('g', `(f64.promote_f32 (f32.load ${at('gamma', get('ch'))}))`)}
      ${set('p2', `(f64x2.splat ${get('p')})`)} ${set('q2', `(f64x2.splat ${get('k')})`)} ${set('k2', `(f64x2.splat ${get('g')})`)}
      ${set('o', runOffset('r'))}
      ${run(`
          ${set('av', maskedVector)} ${set('bv', v4('b'))}
          (v128.store ${add(get('out'), get('q'))} ${join(
            f64x2('add', f64x2('add', f64x2('mul', get('p2'), lo(get('av'))), f64x2('mul', get('q2'), lo(get('bv')))), get('k2')),
            f64x2('add', f64x2('add', f64x2('mul', get('p2'), hi(get('av'))), f64x2('mul', get('q2'), hi(get('bv')))), get('k2')))})`, `
          (f32.store ${add(get('out'), get('q'))} (f32.demote_f64 (f64.add (f64.add (f64.mul ${get('p')} ${maskedScalar}) (f64.mul ${get('k')} ${f1('b')})) ${get('g')})))`)}`))})`;
}

export function spatialKernels(): string {
  return `
  ;; ---- convolution, pooling and per-channel kernels (wasm/spatial.ts) ----
${zeroFunction}
${copyFunction}
${im2col()}
${col2im()}
${swapAxes01()}
${pooling()}
${channels()}`;
}
