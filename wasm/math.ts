/** exp, log, tanh and Φ on f32x4, as WAT (Cephes single-precision algorithms: about 1-2 ulp). */
import { get, i32, set, splat } from './wat.js';

export function mathFunctions(): string {
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
