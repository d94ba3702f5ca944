/**
 * The fused optimizer step. Transforms stay what they are (small init/update pairs composed by
 * `chain` and `masked`, the order being the convention); a leaf may also *describe* its
 * per-element arithmetic as ops of the fixed vocabulary in kernels/optimizer-ops.ts. When every
 * leaf of a chain does, the chain is compiled, per parameter, into a program (its ops in chain
 * order plus pointers to their state buffers), and `Backend.optimizerStep` runs the program and
 * w ← w + u in one pass over the parameter — one C loop on the native backend instead of one
 * TypeScript loop per transform. Anything without a description (a user's own transform) makes
 * the Updater fall back to the transforms' own `update`, which remains the reference.
 *
 * Why per-element ops and not one "optimizer kernel" with flags: each op is exactly one leaf's
 * loop body, so decay placed before or after the moments, masks, per-parameter coefficients and
 * new recipes compose with no change to any backend. Scalars that depend on the step (learning
 * rate, bias corrections, per-batch coefficients) are resolved in TypeScript once per step by
 * the leaf that owns them, exactly as its `update` does, and written into the program in place.
 */
import type { Backend } from '../kernels/backend.js';
import { OP_SLOTS } from '../kernels/optimizer-ops.js';
import type { Param } from '../tensor/param.js';
import { applyUpdates, type FusedOp, type FusedStage, type GradientTransformation, type StepContext } from './transform.js';


/** One parameter's compiled program: the ops' slots laid end to end, and their buffers. */
interface Program {
  readonly w: Float32Array;
  readonly u: Float32Array;
  readonly ops: readonly FusedOp[];
  readonly code: Float64Array;
  readonly state: readonly Float32Array[];
}

/**
 * Applies one optimizer step: the transform's update, then w ← w + u, fused on the backend when
 * the transform describes itself (`fused` says whether the last step was). Programs are built
 * once per (params, state, updates) and reused, so a step allocates nothing.
 */
export class Updater {
  private forParams: readonly Param[] | null = null;
  private forState: unknown = null;
  private forUpdates: readonly Float32Array[] | null = null;
  private stage: FusedStage | undefined;
  private programs: Program[] = [];

  constructor(readonly transform: GradientTransformation<any>, readonly backend: Backend) {}

  /** True when the chain compiled to programs and runs on the backend's `optimizerStep`. */
  get fused(): boolean {
    return this.stage !== undefined;
  }

  apply(updates: readonly Float32Array[], state: unknown, params: readonly Param[], ctx?: StepContext): void {
    if (params !== this.forParams || state !== this.forState || updates !== this.forUpdates) this.compile(updates, state, params);
    const stage = this.stage;
    if (!stage) {
      this.transform.update(updates, state, params, ctx);
      applyUpdates(params, updates);
      return;
    }
    stage.prepare(ctx);
    for (let i = 0; i < this.programs.length; i++) {
      const p = this.programs[i];
      for (let k = 0; k < p.ops.length; k++) p.code.set(p.ops[k].args, k * OP_SLOTS);
      this.backend.optimizerStep(p.w, p.u, p.w.length, p.code, p.state);
    }
  }

  private compile(updates: readonly Float32Array[], state: unknown, params: readonly Param[]): void {
    this.forParams = params;
    this.forState = state;
    this.forUpdates = updates;
    this.stage = this.transform.fuse?.(params, state);
    this.programs = !this.stage ? [] : params.map((p, i) => {
      const ops = this.stage!.ops[i];
      return { w: p.value, u: updates[i], ops, code: new Float64Array(ops.length * OP_SLOTS), state: ops.flatMap((op) => op.state) };
    });
  }
}
