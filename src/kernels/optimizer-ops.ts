/**
 * The vocabulary of `Backend.optimizerStep`: the per-element arithmetic of the optimizer's leaf
 * transforms as a handful of ops, so a backend can run a whole chain over a parameter in one
 * pass. It lives here, not in optim/, because kernels import nothing: optim/ describes its
 * transforms in these terms, the backends execute them.
 *
 * A program is a Float64Array of OP_SLOTS slots per op, [opcode, arguments…] (unused slots are
 * ignored), with the ops' state buffers listed in program order in a separate array. Scalars
 * are float64 because every one of them is computed in float64 by the TypeScript transforms
 * (learning rates, bias corrections, 1 − β); rounding them to float32 would move the result.
 *
 * Arithmetic contract (every backend): each op computes in float64 from the float32 values it
 * reads and rounds once to float32 where it stores (u, and its state buffers), in exactly the
 * order written below. That is what the TypeScript transforms do when they store into their
 * Float32Arrays, so the fused step and the transform-by-transform step give bit-identical
 * parameters and state, whichever backend runs it; a checkpoint written by one path continues
 * exactly on the other.
 */

/** Float64 slots per op: the opcode, then up to seven arguments (Adam uses all seven). */
export const OP_SLOTS = 8;

/**
 * Opcodes. `u` is the update being built (the gradient on entry), `w` the parameter before the
 * step; state buffers are named after the transform that owns them.
 */
export const OPCODE = {
  /** [c] — u ← u + c·w (skipped when c = 0). Coupled L2 (c = 2λ), decoupled decay (c = κ), step decay (c = −δ). */
  addScaledWeights: 1,
  /** [s] — u ← s·u (skipped when s = 1). The learning rate (s = −η_t), per-parameter lr multipliers. */
  scale: 2,
  /**
   * [μ, keep, nesterov, first], state [b] — b ← u on the first step, else b ← μ·b + keep·u;
   * then u ← u + μ·b (nesterov = 1) or u ← b. b is read back as stored (rounded) for the
   * Nesterov term, as PyTorch reads its buffer.
   */
  momentum: 3,
  /**
   * [β1, 1−β1, β2, 1−β2, bc1, √bc2, ε̂], state [m, v] — g = u; m ← β1·m + (1−β1)·g;
   * v ← β2·v + ((1−β2)·g)·g; u ← (m/bc1) / (√v/√bc2 + ε̂), with m and v as stored. bc1 = 1 − β1ᵗ,
   * √bc2 = √(1 − β2ᵗ) and ε̂ (ε, or ε/√bc2 for the 'uncorrected' placement) are per-step scalars.
   */
  adam: 4,
} as const;

export type Opcode = (typeof OPCODE)[keyof typeof OPCODE];

/** State buffers each opcode consumes from the `state` list, in order. */
export const STATE_BUFFERS: Readonly<Record<Opcode, number>> = { 1: 0, 2: 0, 3: 1, 4: 2 };

// The encoders are the one place that knows each op's slot layout (the backends decode it).

export function encodeAddScaledWeights(args: Float64Array, at: number, c: number): void {
  args[at] = OPCODE.addScaledWeights;
  args[at + 1] = c;
}

export function encodeScale(args: Float64Array, at: number, s: number): void {
  args[at] = OPCODE.scale;
  args[at + 1] = s;
}

export function encodeMomentum(args: Float64Array, at: number, mu: number, keep: number, nesterov: boolean, first: boolean): void {
  args[at] = OPCODE.momentum;
  args[at + 1] = mu;
  args[at + 2] = keep;
  args[at + 3] = nesterov ? 1 : 0;
  args[at + 4] = first ? 1 : 0;
}

export function encodeAdam(args: Float64Array, at: number, b1: number, b2: number, bc1: number, sqrtBc2: number, epsHat: number): void {
  args[at] = OPCODE.adam;
  args[at + 1] = b1;
  args[at + 2] = 1 - b1;
  args[at + 3] = b2;
  args[at + 4] = 1 - b2;
  args[at + 5] = bc1;
  args[at + 6] = sqrtBc2;
  args[at + 7] = epsHat;
}

/**
 * Throws (RangeError/TypeError, nothing written yet) unless the call is well formed: whole ops,
 * known opcodes, exactly the state buffers the ops consume, every array at least n long, and
 * no two arrays sharing memory (the kernels read and write them in one pass, so an alias would
 * make the result depend on the backend). The native addon checks the same in C.
 */
export function checkOptimizerProgram(w: Float32Array, u: Float32Array, n: number, program: Float64Array, state: readonly Float32Array[]): void {
  if (!(Number.isInteger(n) && n >= 0 && n < 2 ** 31)) throw new RangeError(`optimizerStep: n must be an integer in [0, 2^31), got ${n}`);
  if (program.length % OP_SLOTS !== 0) throw new RangeError(`optimizerStep: the program has ${program.length} slots, not a multiple of ${OP_SLOTS}`);
  let buffers = 0;
  for (let at = 0; at < program.length; at += OP_SLOTS) {
    const code = program[at] as Opcode;
    if (!(code in STATE_BUFFERS)) throw new RangeError(`optimizerStep: unknown opcode ${program[at]} at op ${at / OP_SLOTS}`);
    buffers += STATE_BUFFERS[code];
  }
  if (state.length !== buffers) throw new RangeError(`optimizerStep: the ops use ${buffers} state buffers, ${state.length} given`);
  // Indexed rather than collected into an array: this runs on every step and allocates nothing.
  const count = state.length + 2;
  const array = (i: number) => (i === 0 ? w : i === 1 ? u : state[i - 2]);
  for (let i = 0; i < count; i++) {
    const a = array(i);
    if (!(a instanceof Float32Array)) throw new TypeError(`optimizerStep: array ${i} is not a Float32Array`);
    if (a.length < n) throw new RangeError(`optimizerStep: array ${i} has ${a.length} elements, the call needs ${n}`);
    for (let j = 0; j < i; j++) {
      const b = array(j);
      if (n > 0 && a.buffer === b.buffer && a.byteOffset < b.byteOffset + 4 * n && b.byteOffset < a.byteOffset + 4 * n) {
        throw new RangeError(`optimizerStep: arrays ${j} and ${i} overlap`);
      }
    }
  }
}
