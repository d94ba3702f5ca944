/**
 * Gradient transformations, after optax: an optimizer is a chain of small (init, update)
 * pairs, and the order of the chain *is* the convention (coupled L2 before the moments,
 * decoupled decay after them, the learning rate last). State is plain data (numbers and
 * Float32Arrays in records), allocated in `init` and mutated in place in `update`, so
 * checkpoints serialize it without special code.
 *
 * `updates` arrive holding the gradients, aligned with `params`, and leave holding the
 * amounts to add to the parameters. The sign flips in exactly one place: scaleByLearningRate.
 *
 * A transform may also `fuse`: describe its arithmetic as ops of the fixed vocabulary
 * (kernels/optimizer-ops.ts) that a backend runs in one pass (optim/fused.ts). The built-in
 * leaves are written once, as `fuse`; their `update` runs those ops through the reference
 * kernel (transforms.ts, `fromFused`). A user's own transform may give `update` alone.
 */
import { OP_SLOTS } from '../kernels/optimizer-ops.js';
import type { Param } from '../tensor/param.js';
import type { ParamMask } from '../regularization/mask.js';

/** What a transform may need to know about the current step beyond gradients and parameters. */
export interface StepContext {
  /** Examples in this step's batch (the last batch of an epoch may be smaller). */
  batchSize: number;
}

/** One op of one parameter: its OP_SLOTS float64 slots and the state buffers it updates. */
export interface FusedOp {
  /** [opcode, arguments…], rewritten by the owning transform's `prepare` before each step. */
  readonly args: Float64Array;
  readonly state: readonly Float32Array[];
}

/** A transform (or a whole tree of them) described for the fused step, for one params list and state. */
export interface FusedStage {
  /** Per parameter, in params order: the ops applied to its update, in order (empty: untouched). */
  readonly ops: readonly (readonly FusedOp[])[];
  /**
   * Called once before each step: resolves this step's scalars into `ops` and advances the
   * state's counters, exactly as `update` would. Nothing else of the state is touched here.
   */
  prepare(ctx: StepContext | undefined): void;
}

export function fusedOp(state: readonly Float32Array[] = []): FusedOp {
  return { args: new Float64Array(OP_SLOTS), state };
}

/** n zeroed floats. */
export type Alloc = (n: number) => Float32Array;

export interface GradientTransformation<S = unknown> {
  /** For logs and for tests that assert a recipe's order. */
  readonly name: string;
  /** Inner transforms of a combinator, in order; empty for a leaf. */
  readonly children: readonly GradientTransformation<any>[];
  /**
   * Fresh state for these params. `alloc` gives the buffers (a backend's, so that a fused
   * optimizer step can use them in place, e.g. in wasm memory); default: plain arrays.
   */
  init(params: readonly Param[], alloc?: Alloc): S;
  update(updates: readonly Float32Array[], state: S, params: readonly Param[], ctx?: StepContext): void;
  /**
   * Optional: the same arithmetic as `update`, as fused ops over these params and this state
   * (see optim/fused.ts). Undefined (absent, or a combinator with an undescribed child) means
   * the step runs through `update`.
   */
  fuse?(params: readonly Param[], state: S): FusedStage | undefined;
}

type StateOf<T> = T extends GradientTransformation<infer S> ? S : never;
type ChainState<T extends readonly GradientTransformation<any>[]> = { [K in keyof T]: StateOf<T[K]> };

/** Applies transforms in order; its state is the tuple of theirs. */
export function chain<T extends readonly GradientTransformation<any>[]>(...transforms: T): GradientTransformation<ChainState<T>> {
  return {
    name: 'chain',
    children: transforms,
    init: (params, alloc) => transforms.map((t) => t.init(params, alloc)) as ChainState<T>,
    update(updates, state, params, ctx) {
      for (let i = 0; i < transforms.length; i++) transforms[i].update(updates, state[i], params, ctx);
    },
    fuse(params, state) {
      const stages: FusedStage[] = [];
      for (let i = 0; i < transforms.length; i++) {
        const stage = transforms[i].fuse?.(params, state[i]);
        if (!stage) return undefined;
        stages.push(stage);
      }
      // Per parameter, the children's ops in chain order: the chain *is* the program's order.
      return {
        ops: params.map((_, p) => stages.flatMap((s) => s.ops[p])),
        prepare(ctx) {
          for (let i = 0; i < stages.length; i++) stages[i].prepare(ctx);
        },
      };
    },
  };
}

/**
 * Runs `inner` on the parameters the mask selects only; the others pass through unchanged and
 * get no state. The mask is evaluated once per parameter list (optax `masked`).
 */
export function masked<S>(inner: GradientTransformation<S>, mask: ParamMask): GradientTransformation<S> {
  // Index lists are cached per parameter array so the step allocates nothing.
  let forParams: readonly Param[] | null = null;
  let indices: number[] = [];
  let subParams: Param[] = [];
  let forUpdates: readonly Float32Array[] | null = null;
  let subUpdates: Float32Array[] = [];
  const select = (params: readonly Param[]) => {
    if (params !== forParams) {
      forParams = params;
      indices = params.flatMap((p, i) => (mask(p) ? [i] : []));
      subParams = indices.map((i) => params[i]);
      forUpdates = null;
    }
  };
  return {
    name: `masked(${inner.name})`,
    children: [inner],
    init(params, alloc) {
      select(params);
      return inner.init(subParams, alloc);
    },
    update(updates, state, params, ctx) {
      select(params);
      if (updates !== forUpdates) {
        forUpdates = updates;
        subUpdates = indices.map((i) => updates[i]);
      }
      inner.update(subUpdates, state, subParams, ctx);
    },
    fuse(params, state) {
      select(params);
      const stage = inner.fuse?.(subParams, state);
      if (!stage) return undefined;
      const ops: (readonly FusedOp[])[] = params.map(() => []);
      indices.forEach((i, k) => { ops[i] = stage.ops[k]; });
      return { ops, prepare: (ctx) => stage.prepare(ctx) };
    },
  };
}

/** Flattened names of a transform tree, in application order: ["add_l2_gradient", ...]. */
export function transformNames(t: GradientTransformation<any>): string[] {
  if (t.name === 'chain') return t.children.flatMap(transformNames);
  return [t.name];
}

/** w ← w + u for every parameter. */
export function applyUpdates(params: readonly Param[], updates: readonly Float32Array[]): void {
  for (let i = 0; i < params.length; i++) {
    const w = params[i].value, u = updates[i];
    for (let j = 0; j < w.length; j++) w[j] += u[j];
  }
}

/** One zero-filled Float32Array per parameter, keyed by name: the usual shape of per-parameter state. */
export function zerosLike(params: readonly Param[], alloc: Alloc = (n) => new Float32Array(n)): Record<string, Float32Array> {
  return Object.fromEntries(params.map((p) => [p.name, alloc(p.value.length)]));
}
