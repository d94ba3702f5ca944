/**
 * The Backend over one instance of the module: operands laid out in its linear memory (the
 * arena's blocks used in place, anything else copied into a scratch block and back), geometry
 * and lengths checked before a kernel indexes by them, large GEMMs and optimizer steps handed
 * to the threads.
 */
import type { ConvGeometry, PoolGeometry } from '../backend.js';
import { checkOptimizerProgram, OP_SLOTS } from '../optimizer-ops.js';
import { Arena, ARENA_ALIGN } from './arena.js';
import { PAGE, PARAM_SPLIT_MIN, regionBytes, type KernelExports, type WasmBackend, type WasmVariant } from './module.js';
import type { KernelThreads } from './threads.js';

/**
 * One axis of a convolution or pooling geometry: kernel, stride ≥ 1 and out = floor((in +
 * 2·pad − kernel)/stride) + 1, the native backend's rule. The kernels index by the geometry
 * alone, so an inconsistent one would read or write outside the arrays it was checked against.
 */
function checkAxis(name: string, outName: string, size: number, pad: number, kernel: number, stride: number, out: number): void {
  checkSize(name, size); checkSize('padding', pad); checkSize('kernel', kernel); checkSize('stride', stride); checkSize(outName, out);
  if (kernel < 1 || stride < 1) throw new RangeError(`wasm backend: kernel and stride must be at least 1, got kernel ${kernel}, stride ${stride}`);
  const expect = Math.floor((size + 2 * pad - kernel) / stride) + 1;
  if (out !== expect) {
    throw new RangeError(`wasm backend: ${outName} ${out} does not match the geometry: floor((${size} + 2*${pad} - ${kernel})/${stride}) + 1 = ${expect}`);
  }
}
function checkSize(name: string, v: number): void {
  if (!(Number.isInteger(v) && v >= 0 && v < 2 ** 31)) throw new RangeError(`wasm backend: ${name} must be an integer in [0, 2^31), got ${v}`);
}
const checkConv = (g: ConvGeometry) => {
  checkAxis('height', 'outHeight', g.height, g.padding, g.kernel, g.stride, g.outHeight);
  checkAxis('width', 'outWidth', g.width, g.padding, g.kernel, g.stride, g.outWidth);
};
const checkPool = (g: PoolGeometry) => {
  checkAxis('height', 'outHeight', g.height, 0, g.kernelHeight, g.stride, g.outHeight);
  checkAxis('width', 'outWidth', g.width, 0, g.kernelWidth, g.stride, g.outWidth);
};

export interface Layout {
  /** The calling thread's gemm scratch. */
  work: number;
  /** Where operands start (default: right after the scratch). */
  data?: number;
  pool?: KernelThreads;
  parallelMinFlops?: number;
}

export function createBackend(ex: KernelExports, memory: WebAssembly.Memory, variant: WasmVariant, layout: Layout): WasmBackend {
  const WORK = layout.work;
  const start = layout.data ?? WORK + regionBytes(ex.gemm_work_bytes() / 4);
  const { pool } = layout;
  const parallelMinFlops = layout.parallelMinFlops ?? Infinity;
  let f32 = new Float32Array(memory.buffer);
  let i32 = new Int32Array(memory.buffer);
  let f64 = new Float64Array(memory.buffer);
  // Every buffer object this memory has had: a shared memory hands out a new (longer)
  // SharedArrayBuffer after each growth, and views of the older ones stay valid.
  const mine = new WeakSet<ArrayBufferLike>([memory.buffer]);

  /** Makes the memory at least `end` bytes; growth detaches (owned) or outgrows (shared) the old views, so re-take them. */
  const ensure = (end: number) => {
    if (end <= f32.byteLength) return;
    memory.grow(Math.ceil((end - f32.byteLength) / PAGE));
    f32 = new Float32Array(memory.buffer);
    i32 = new Int32Array(memory.buffer);
    f64 = new Float64Array(memory.buffer);
    mine.add(memory.buffer);
  };
  const arena = new Arena(Math.ceil(start / ARENA_ALIGN) * ARENA_ALIGN, ensure);
  let scratchOff = 0, scratchBytes = 0;
  /**
   * The region a call copies its other operands into: one arena block, swapped for a larger
   * one when a call needs more (and so never shared with a buffer from `alloc`).
   */
  const scratch = (bytes: number) => {
    if (bytes > scratchBytes) {
      if (scratchBytes > 0) arena.release(scratchOff, scratchBytes);
      scratchBytes = Math.ceil((bytes * 1.25) / PAGE) * PAGE;
      scratchOff = arena.alloc(scratchBytes);
    }
    return scratchOff;
  };
  // Blocks of buffers from `alloc` go back to the arena when their view is collected.
  const registry = new FinalizationRegistry<{ off: number; bytes: number }>((b) => arena.release(b.off, b.bytes));
  const zeroCopy = memory.buffer instanceof (globalThis.SharedArrayBuffer ?? class {});

  const check = (x: ArrayLike<number>, len: number, what: string) => {
    if (x.length < len) throw new RangeError(`wasm backend: ${what} has ${x.length} elements, the call needs ${len}`);
  };
  const copied = { in: 0, out: 0 };
  /** Copies the first `len` elements of `src` to byte offset `off` (Int32Array: maxPool's argmax). */
  const put = (src: Float32Array | Int32Array, len: number, off: number) => {
    copied.in += len;
    const part = src.length === len ? src : src.subarray(0, len);
    if (part instanceof Int32Array) i32.set(part, off >> 2); else f32.set(part, off >> 2);
  };
  /** Copies `len` elements at byte offset `off` into the start of `dst`. */
  const get = (dst: Float32Array | Int32Array, len: number, off: number) => {
    copied.out += len;
    if (dst instanceof Int32Array) dst.set(i32.subarray(off >> 2, (off >> 2) + len)); else dst.set(f32.subarray(off >> 2, (off >> 2) + len));
  };
  /** Where `x` lives in the memory when it is one of this backend's buffers, else −1. */
  const at = (x: Float32Array | Int32Array) => (mine.has(x.buffer) ? x.byteOffset : -1);
  /**
   * Where a kernel may write `x` in place: the elementwise, loss and optimizer kernels store
   * whole f32x4 vectors, up to 3 floats past len (the padding of a copy region), so only when
   * len is a multiple of 4 (a model's buffers almost always are).
   */
  const writable = (x: Float32Array, len: number) => (len % 4 === 0 ? at(x) : -1);
  /** `place` when x is used in place (≥ 0), else `off` after copying x's first `len` elements there. */
  const copyIn = (x: Float32Array, len: number, off: number, place: number) => {
    if (place >= 0) return place;
    put(x, len, off);
    return off;
  };
  /** An input's offset: where it lives, or a copy at `off`. */
  const input = (x: Float32Array, len: number, off: number) => copyIn(x, len, off, at(x));
  /** An operand a whole-vector kernel reads and writes: in place when `writable`, else a copy at `off` (copied back by `output`). */
  const inout = (x: Float32Array, len: number, off: number) => copyIn(x, len, off, writable(x, len));
  /** A whole-vector kernel's output: in place when `writable`, else `off` (copied out by `output`). */
  const target = (x: Float32Array, len: number, off: number) => {
    const o = writable(x, len);
    return o >= 0 ? o : off;
  };
  /** Copies a result out unless the kernel wrote it in place (`off` is then x's own offset). */
  const output = (x: Float32Array | Int32Array, len: number, off: number) => {
    if (at(x) !== off) get(x, len, off);
  };

  /**
   * Operands of the kernels that take several arrays and write exactly their elements (the
   * spatial ones): `begin(lengths…)` takes one scratch block for the call; `place` gives each
   * operand its offset, where it lives or a region of that block (copied in when `copy`);
   * `output` copies a result out as for the other kernels.
   */
  let cursor = 0;
  const begin = (a: number, b: number, c = 0, d = 0, e = 0, f = 0, g = 0) => {
    cursor = scratch(regionBytes(a) + regionBytes(b) + regionBytes(c) + regionBytes(d) + regionBytes(e) + regionBytes(f) + regionBytes(g));
  };
  const place = (x: Float32Array | Int32Array, len: number, copy: boolean) => {
    const o = at(x);
    if (o >= 0) return o;
    const off = cursor;
    cursor += regionBytes(len);
    if (copy) put(x, len, off);
    return off;
  };

  /** out = f(x) elementwise (in place when out is x). */
  const unary = (fn: (x: number, out: number, n: number) => void) => (x: Float32Array, y: Float32Array, n: number) => {
    if (n <= 0) return;
    check(x, n, 'input'); check(y, n, 'output');
    const D = scratch(regionBytes(n));
    const xo = input(x, n, D), yo = target(y, n, D);
    fn(xo, yo, n);
    output(y, n, yo);
  };
  /** out = f(u, v) elementwise (out may be u or v). */
  const binary = (fn: (u: number, v: number, out: number, n: number) => void) =>
    (u: Float32Array, v: Float32Array, out: Float32Array, n: number) => {
      if (n <= 0) return;
      check(u, n, 'input'); check(v, n, 'input'); check(out, n, 'output');
      const D = scratch(2 * regionBytes(n)), vD = D + regionBytes(n);
      const uo = input(u, n, D), vo = input(v, n, vD), oo = target(out, n, vD);
      fn(uo, vo, oo, n);
      output(out, n, oo);
    };

  return {
    name: 'wasm',
    variant,
    get threads() { return pool?.active ? pool.threads : 1; },
    dispose() { pool?.shutdown(); },
    get gemmStats() { return pool ? { ...pool.stats } : undefined; },
    get arenaBytes() { return arena.used; },
    get copied() { return { ...copied }; },

    // Only over a shared memory: growing an owned one would detach every buffer handed out.
    alloc: zeroCopy ? (n: number) => {
      if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`wasm backend: alloc of ${n} elements`);
      const bytes = regionBytes(n);
      const off = arena.alloc(bytes);
      const view = new Float32Array(memory.buffer, off, n);
      view.fill(0); // a reused block holds an old buffer's values
      registry.register(view, { off, bytes });
      return view;
    } : undefined,

    gemm(transA, transB, m, n, k, alpha, a, b, beta, c) {
      pool?.check();
      if (m <= 0 || n <= 0) return;
      const aLen = m * k, bLen = k * n, cLen = m * n;
      check(a, aLen, 'A'); check(b, bLen, 'B'); check(c, cLen, 'C');
      const D = scratch(regionBytes(aLen) + regionBytes(bLen) + regionBytes(cLen));
      const aD = D, bD = aD + regionBytes(aLen), cD = bD + regionBytes(bLen);
      const aOff = k > 0 ? input(a, aLen, aD) : aD, bOff = k > 0 ? input(b, bLen, bD) : bD;
      // GEMM stores only C's own elements, so C is used in place whatever its length. β = 0:
      // C's old contents are never read, so not copied in.
      const cAt = at(c);
      const cOff = beta !== 0 ? copyIn(c, cLen, cD, cAt) : cAt >= 0 ? cAt : cD;
      const ta = transA ? 1 : 0, tb = transB ? 1 : 0;
      if (pool?.active && k > 0 && 2 * m * n * k >= parallelMinFlops) {
        pool.gemm({ ta, tb, m, n, k, alpha, a: aOff, b: bOff, beta, c: cOff });
      } else {
        ex.gemm(ta, tb, m, n, k, alpha, aOff, bOff, beta, cOff, WORK);
      }
      output(c, cLen, cOff);
    },

    addRowVector(y, bias, rows, cols) {
      const n = rows * cols;
      if (n <= 0) return;
      check(y, n, 'y'); check(bias, cols, 'bias');
      const D = scratch(regionBytes(n) + regionBytes(cols));
      const yOff = inout(y, n, D), bOff = input(bias, cols, D + regionBytes(n));
      ex.add_row_vector(yOff, bOff, rows, cols);
      output(y, n, yOff);
    },

    sumRowsInto(x, rows, cols, out) {
      if (cols <= 0) return;
      const n = rows * cols;
      check(x, n, 'x'); check(out, cols, 'out');
      const D = scratch(regionBytes(n) + regionBytes(cols));
      const xOff = input(x, n, D), oOff = inout(out, cols, D + regionBytes(n));
      ex.sum_rows_into(xOff, rows, cols, oOff);
      output(out, cols, oOff);
    },

    relu: unary((x, out, n) => ex.relu(x, out, n)),
    reluBackward: binary((y, dy, out, n) => ex.relu_backward(y, dy, out, n)),
    tanh: unary((x, out, n) => ex.tanh(x, out, n)),
    tanhBackward: binary((y, dy, out, n) => ex.tanh_backward(y, dy, out, n)),
    gelu: unary((x, out, n) => ex.gelu(x, out, n)),
    geluBackward: binary((x, dy, out, n) => ex.gelu_backward(x, dy, out, n)),
    mul: binary((a, b, out, n) => ex.mul(a, b, out, n)),

    softmaxCrossEntropy(logits, labels, rows, cols, dlogits, scale) {
      const n = rows * cols;
      if (rows <= 0) return 0;
      check(logits, n, 'logits'); check(labels, rows, 'labels'); check(dlogits, n, 'dlogits');
      const D = scratch(2 * regionBytes(n) + regionBytes(rows) + regionBytes(2 * rows + 8));
      const yOff = D + regionBytes(n), dD = yOff + regionBytes(rows), wOff = dD + regionBytes(n);
      const lOff = input(logits, n, D), dOff = target(dlogits, n, dD);
      i32.set(labels.length === rows ? labels : labels.subarray(0, rows), yOff >> 2);
      const total = ex.softmax_ce(lOff, yOff, rows, cols, dOff, scale, wOff);
      output(dlogits, n, dOff);
      return total;
    },

    sumSquares(x, n) {
      if (n <= 0) return 0;
      check(x, n, 'x');
      return ex.sum_squares(input(x, n, scratch(regionBytes(n))), n);
    },

    im2col(x, batch, g, cols) {
      checkConv(g);
      const inLen = batch * g.channels * g.height * g.width, outLen = g.channels * g.kernel * g.kernel * batch * g.outHeight * g.outWidth;
      if (outLen <= 0) return;
      check(x, inLen, 'x'); check(cols, outLen, 'cols');
      begin(inLen, outLen);
      const xo = place(x, inLen, true), co = place(cols, outLen, false);
      ex.im2col(xo, batch, g.channels, g.height, g.width, g.kernel, g.stride, g.padding, g.outHeight, g.outWidth, co);
      output(cols, outLen, co);
    },
    col2im(cols, batch, g, dx) {
      checkConv(g);
      const imLen = batch * g.channels * g.height * g.width, colLen = g.channels * g.kernel * g.kernel * batch * g.outHeight * g.outWidth;
      if (imLen <= 0) return;
      check(cols, colLen, 'cols'); check(dx, imLen, 'dx');
      begin(colLen, imLen);
      const co = place(cols, colLen, true), dxo = place(dx, imLen, false);
      ex.col2im(co, batch, g.channels, g.height, g.width, g.kernel, g.stride, g.padding, g.outHeight, g.outWidth, dxo);
      output(dx, imLen, dxo);
    },
    swapAxes01(x, d0, d1, inner, out) {
      const n = d0 * d1 * inner;
      if (n <= 0) return;
      check(x, n, 'x'); check(out, n, 'out');
      begin(n, n);
      const xo = place(x, n, true), oo = place(out, n, false);
      ex.swap_axes01(xo, d0, d1, inner, oo);
      output(out, n, oo);
    },
    maxPool(x, planes, g, y, argmax) {
      checkPool(g);
      const inLen = planes * g.height * g.width, outLen = planes * g.outHeight * g.outWidth;
      if (outLen <= 0) return;
      check(x, inLen, 'x'); check(y, outLen, 'y'); check(argmax, outLen, 'argmax');
      begin(inLen, outLen, outLen);
      const xo = place(x, inLen, true), yo = place(y, outLen, false), ao = place(argmax, outLen, false);
      ex.max_pool(xo, planes, g.height, g.width, g.kernelHeight, g.kernelWidth, g.stride, g.outHeight, g.outWidth, yo, ao);
      output(y, outLen, yo);
      output(argmax, outLen, ao);
    },
    maxPoolBackward(dy, argmax, planes, g, dx) {
      checkPool(g);
      const plane = g.height * g.width, outPlane = g.outHeight * g.outWidth;
      if (planes * plane <= 0) return;
      check(dy, planes * outPlane, 'dy'); check(argmax, planes * outPlane, 'argmax'); check(dx, planes * plane, 'dx');
      begin(planes * outPlane, planes * outPlane, planes * plane);
      const dyo = place(dy, planes * outPlane, true), ao = place(argmax, planes * outPlane, true), dxo = place(dx, planes * plane, false);
      ex.max_pool_backward(dyo, ao, planes, plane, outPlane, dxo);
      output(dx, planes * plane, dxo);
    },
    avgPool(x, planes, g, y) {
      checkPool(g);
      const inLen = planes * g.height * g.width, outLen = planes * g.outHeight * g.outWidth;
      if (outLen <= 0) return;
      check(x, inLen, 'x'); check(y, outLen, 'y');
      begin(inLen, outLen);
      const xo = place(x, inLen, true), yo = place(y, outLen, false);
      ex.avg_pool(xo, planes, g.height, g.width, g.kernelHeight, g.kernelWidth, g.stride, g.outHeight, g.outWidth, yo);
      output(y, outLen, yo);
    },
    avgPoolBackward(dy, planes, g, dx) {
      checkPool(g);
      const inLen = planes * g.height * g.width, outLen = planes * g.outHeight * g.outWidth;
      if (inLen <= 0) return;
      check(dy, outLen, 'dy'); check(dx, inLen, 'dx');
      begin(outLen, inLen);
      const dyo = place(dy, outLen, true), dxo = place(dx, inLen, false);
      ex.avg_pool_backward(dyo, planes, g.height, g.width, g.kernelHeight, g.kernelWidth, g.stride, g.outHeight, g.outWidth, dxo);
      output(dx, inLen, dxo);
    },
    channelMoments(x, n, c, s, mean, variance) {
      if (c <= 0) return;
      check(x, n * c * s, 'x'); check(mean, c, 'mean'); check(variance, c, 'variance');
      begin(n * c * s, c, c);
      const xo = place(x, n * c * s, true), mo = place(mean, c, false), vo = place(variance, c, false);
      ex.channel_moments(xo, n, c, s, mo, vo);
      output(mean, c, mo);
      output(variance, c, vo);
    },
    channelAffine(x, n, c, s, scale, shift, y, relu) {
      const len = n * c * s;
      if (len <= 0) return;
      check(x, len, 'x'); check(y, len, 'y'); check(scale, c, 'scale'); check(shift, c, 'shift');
      begin(len, len, c, c);
      const xo = place(x, len, true), yo = place(y, len, false), so = place(scale, c, true), ko = place(shift, c, true);
      ex.channel_affine(xo, n, c, s, so, ko, yo, relu ? 1 : 0);
      output(y, len, yo);
    },
    channelSums(a, b, n, c, s, center, mask, sumA, sumAB) {
      if (c <= 0) return;
      const len = n * c * s, masked = mask.length > 0;
      check(a, len, 'a'); check(b, len, 'b'); check(center, c, 'center'); check(sumA, c, 'sumA'); check(sumAB, c, 'sumAB');
      if (masked) check(mask, len, 'mask');
      begin(len, len, masked ? len : 0, c, c, c);
      const ao = place(a, len, true), bo = place(b, len, true), mo = masked ? place(mask, len, true) : 0;
      const co = place(center, c, true), sa = place(sumA, c, true), sab = place(sumAB, c, true);
      ex.channel_sums(ao, bo, n, c, s, co, mo, masked ? 1 : 0, sa, sab);
      output(sumA, c, sa);
      output(sumAB, c, sab);
    },
    channelCombine(a, b, n, c, s, alpha, beta, gamma, mask, out) {
      const len = n * c * s, masked = mask.length > 0;
      if (len <= 0) return;
      check(a, len, 'a'); check(b, len, 'b'); check(out, len, 'out');
      check(alpha, c, 'alpha'); check(beta, c, 'beta'); check(gamma, c, 'gamma');
      if (masked) check(mask, len, 'mask');
      begin(len, len, masked ? len : 0, len, c, c, c);
      const ao = place(a, len, true), bo = place(b, len, true), mo = masked ? place(mask, len, true) : 0, oo = place(out, len, false);
      const po = place(alpha, c, true), qo = place(beta, c, true), ko = place(gamma, c, true);
      ex.channel_combine(ao, bo, n, c, s, po, qo, ko, mo, masked ? 1 : 0, oo);
      output(out, len, oo);
    },
    optimizerStep(w, u, n, program, state) {
      pool?.check();
      checkOptimizerProgram(w, u, n, program, state);
      if (n === 0) return;
      // Large parameters are cut into one contiguous part per thread (see ./threads.ts for
      // why the parts line up with the GEMMs' chunks); elementwise, so the same bits.
      const parts = pool?.active && n >= PARAM_SPLIT_MIN ? pool.threads : 1;
      const size = Math.ceil(n / parts / 16) * 16;
      // Regions back to back: w, u, each state buffer, then the program (64-byte aligned, so
      // its float64s are aligned too) and one table of state offsets per part.
      const region = regionBytes(n);
      const progBytes = (program.length * 8 + 63) & ~63;
      const D = scratch((2 + state.length) * region + progBytes + 4 * state.length * parts + 16);
      const stateD = D + 2 * region, progOff = stateD + state.length * region, tableOff = progOff + progBytes;
      const wOff = inout(w, n, D), uOff = inout(u, n, D + region);
      const table = tableOff >> 2;
      for (let k = 0; k < state.length; k++) i32[table + k] = inout(state[k], n, stateD + k * region);
      for (let p = 1; p < parts; p++) for (let k = 0; k < state.length; k++) i32[table + p * state.length + k] = i32[table + k] + 4 * p * size;
      f64.set(program, progOff >> 3);
      const ops = program.length / OP_SLOTS;
      if (parts > 1) pool!.optimizerStep({ w: wOff, u: uOff, n, program: progOff, ops, tables: tableOff, states: state.length, size });
      else ex.optimizer_step(wOff, uOff, n, progOff, ops, tableOff);
      output(w, n, wOff);
      output(u, n, uOff);
      for (let k = 0; k < state.length; k++) output(state[k], n, i32[table + k]);
    },

  };
}
