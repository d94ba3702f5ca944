/**
 * The reference `optimizerStep`: each op as its own plain loop over the parameter, storing u
 * into its Float32Array after every op. That store is the float32 rounding the op contract
 * (../optimizer-ops.ts) prescribes, so this is the TypeScript transforms' arithmetic verbatim,
 * only regrouped per parameter; the fast backends are tested against it bit for bit.
 */
import { checkOptimizerProgram, OP_SLOTS, OPCODE } from '../optimizer-ops.js';

export function optimizerStep(w: Float32Array, u: Float32Array, n: number, program: Float64Array, state: readonly Float32Array[]): void {
  checkOptimizerProgram(w, u, n, program, state);
  applyOps(w, u, n, program, state);
  for (let j = 0; j < n; j++) w[j] += u[j];
}

/**
 * The program's ops on u (and their state), without w ← w + u: the optimizer's arithmetic
 * written once. The transforms' own `update` runs it (optim/transforms.ts, fromFused).
 */
export function applyOps(w: Float32Array, u: Float32Array, n: number, program: Float64Array, state: readonly Float32Array[]): void {
  let s = 0;
  for (let at = 0; at < program.length; at += OP_SLOTS) {
    switch (program[at]) {
      case OPCODE.addScaledWeights: {
        const c = program[at + 1];
        if (c !== 0) for (let j = 0; j < n; j++) u[j] += c * w[j];
        break;
      }
      case OPCODE.scale: {
        const f = program[at + 1];
        if (f !== 1) for (let j = 0; j < n; j++) u[j] *= f;
        break;
      }
      case OPCODE.momentum: {
        const mu = program[at + 1], keep = program[at + 2], nesterov = program[at + 3] !== 0, first = program[at + 4] !== 0;
        const b = state[s++];
        for (let j = 0; j < n; j++) {
          b[j] = first ? u[j] : mu * b[j] + keep * u[j];
          u[j] = nesterov ? u[j] + mu * b[j] : b[j];
        }
        break;
      }
      case OPCODE.adam: {
        const b1 = program[at + 1], oneMinusB1 = program[at + 2], b2 = program[at + 3], oneMinusB2 = program[at + 4];
        const bc1 = program[at + 5], sqrtBc2 = program[at + 6], epsHat = program[at + 7];
        const m = state[s++], v = state[s++];
        for (let j = 0; j < n; j++) {
          const g = u[j];
          m[j] = b1 * m[j] + oneMinusB1 * g;
          v[j] = b2 * v[j] + oneMinusB2 * g * g;
          u[j] = m[j] / bc1 / (Math.sqrt(v[j]) / sqrtBc2 + epsHat);
        }
        break;
      }
    }
  }
}
