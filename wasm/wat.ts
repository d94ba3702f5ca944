/** Small builders of WAT text shared by the kernel generators (generate.ts, optimizer.ts). */

export const f32 = (x: number) => `(f32.const ${x === Infinity ? 'inf' : x === -Infinity ? '-inf' : Number.isInteger(x) ? x.toFixed(1) : x})`;
export const splat = (x: number) => `(f32x4.splat ${f32(x)})`;
export const get = (name: string) => `(local.get $${name})`;
export const set = (name: string, value: string) => `(local.set $${name} ${value})`;
export const i32 = (x: number) => `(i32.const ${x})`;
export const add = (a: string, b: string) => `(i32.add ${a} ${b})`;
export const mul = (a: string, b: string) => `(i32.mul ${a} ${b})`;
/** Byte shuffle selecting f32 lanes: indices 0-3 from the first operand, 4-7 from the second. */
export const shuffle = (lanes: number[], a: string, b: string) =>
  `(i8x16.shuffle ${lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]).join(' ')} ${a} ${b})`;
/** An f32x4 as two f64x2 halves (the high half moved down first, then promoted), and back (each half rounded once). */
export const lo = (v: string) => `(f64x2.promote_low_f32x4 ${v})`;
export const hi = (v: string) => `(f64x2.promote_low_f32x4 ${shuffle([2, 3, 0, 1], v, v)})`;
export const join = (a: string, b: string) => shuffle([0, 1, 4, 5], `(f32x4.demote_f64x2_zero ${a})`, `(f32x4.demote_f64x2_zero ${b})`);
