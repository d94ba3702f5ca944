/**
 * The leaf gradient transformations. Each doc comment gives the update rule and the framework
 * behaviour it matches. Each is written once, as `fuse`: its per-element rule as one op of
 * kernels/optimizer-ops.ts (whose arithmetic the reference kernel kernels/js/optimizer-step.ts
 * holds), with this step's scalars computed in `prepare`; `update` runs the same ops through
 * that reference (`fromFused`), so the transform-by-transform step and the fused one cannot
 * differ. State vocabulary, mapped once:
 *
 *   ridgeline        PyTorch                 optax                 tfjs
 *   count            state['step']           count                 iterations
 *   momentum[name]   momentum_buffer         trace                 accumulation
 *   m[name]          exp_avg                 mu                    accumulatedFirstMoment
 *   v[name]          exp_avg_sq              nu                    accumulatedSecondMoment
 */
import type { Param } from '../tensor/param.js';
import type { DecoupledDecay, L2Coefficient, StepDecay } from '../regularization/units.js';
import { encodeAddScaledWeights, encodeAdam, encodeMomentum, encodeScale } from '../kernels/optimizer-ops.js';
import { applyOps } from '../kernels/js/optimizer-step.js';
import { createSchedule, type Schedule, type ScheduleSpec } from './schedule.js';
import { fusedOp, zerosLike, type Alloc, type FusedOp, type FusedStage, type GradientTransformation, type StepContext } from './transform.js';

type NoState = Record<string, never>;
const NO_STATE: NoState = {};

/**
 * A coefficient that is one number for every parameter, or a function of the parameter and the
 * step (per-tensor normalization, layer multipliers, scikit-learn's division by each batch).
 */
export type Coefficient<U extends number> = U | ((p: Param, ctx: StepContext) => U);

const NOMINAL: StepContext = { batchSize: NaN };

function resolver<U extends number>(c: Coefficient<U>): (p: Param, ctx: StepContext | undefined) => number {
  if (typeof c === 'number') return () => c;
  return (p, ctx) => {
    const v = c(p, ctx ?? NOMINAL);
    if (!Number.isFinite(v)) throw new Error(`coefficient for ${p.name} is ${v}: a per-batch coefficient needs the step context`);
    return v;
  };
}

/**
 * A leaf whose `update` is its `fuse` run through the reference kernel: prepare this step's
 * scalars, then each parameter's ops on its update. The stage is built once per (params, state)
 * and kept, so repeated steps allocate nothing.
 */
function fromFused<S extends object>(name: string, init: (params: readonly Param[], alloc?: Alloc) => S,
  fuse: (params: readonly Param[], state: S) => FusedStage): GradientTransformation<S> {
  let cached: { params: readonly Param[]; state: S; stage: FusedStage } | null = null;
  return {
    name, children: [], init, fuse,
    update(updates, state, params, ctx) {
      if (cached?.params !== params || cached.state !== state) cached = { params, state, stage: fuse(params, state) };
      const { stage } = cached;
      stage.prepare(ctx);
      for (let i = 0; i < params.length; i++) {
        const u = updates[i], w = params[i].value;
        for (const op of stage.ops[i]) applyOps(w, u, u.length, op.args, op.state);
      }
    },
  };
}

/**
 * Coupled L2: u ← u + 2λ_E·w, the gradient of λ_E·Σw². Placed before the moments, it is
 * PyTorch's `weight_decay=c` with c = 2λ_E (SGD and Adam), and Keras/tfjs `l2(λ_E)`.
 */
export function addL2Gradient(lambda: Coefficient<L2Coefficient>): GradientTransformation<NoState> {
  return addScaledWeights('add_l2_gradient', lambda, 2);
}

export interface MomentumOptions {
  /** μ, the heavy-ball coefficient. */
  momentum: number;
  /** Fraction of the gradient withheld from the buffer (PyTorch `dampening`); default 0. */
  dampening?: number;
  nesterov?: boolean;
}

export interface MomentumState { count: number; momentum: Record<string, Float32Array> }

/**
 * Heavy-ball momentum, exactly PyTorch `SGD`: b ← μ·b + (1 − dampening)·u, except on the first
 * step where b ← u (PyTorch skips dampening there); then u ← b, or u ← u + μ·b with Nesterov.
 * Differs from optax `trace` only in that first-step rule when dampening ≠ 0.
 */
export function traceMomentum(options: MomentumOptions): GradientTransformation<MomentumState> {
  const mu = options.momentum, keep = 1 - (options.dampening ?? 0), nesterov = options.nesterov ?? false;
  return fromFused(nesterov ? 'trace_momentum(nesterov)' : 'trace_momentum',
    (params, alloc) => ({ count: 0, momentum: zerosLike(params, alloc) }),
    (params, state) => {
      const ops = params.map((p) => fusedOp([state.momentum[p.name]]));
      return {
        ops: ops.map((op) => [op]),
        prepare() {
          const first = state.count === 0;
          for (const op of ops) encodeMomentum(op.args, 0, mu, keep, nesterov, first);
          state.count++;
        },
      };
    });
}

export interface AdamOptions {
  b1?: number;
  b2?: number;
  eps?: number;
  /**
   * Where ε goes. 'corrected' (default): (m/(1−β1ᵗ)) / (√v/√(1−β2ᵗ) + ε), PyTorch and optax.
   * 'uncorrected': the bias corrections folded into the step size and ε added to the raw √v,
   * (√(1−β2ᵗ)/(1−β1ᵗ))·m/(√v + ε) — scikit-learn's and TF1's Adam (Kingma & Ba's "ε-hat"),
   * which equals the first with ε/√(1−β2ᵗ).
   */
  epsilon?: 'corrected' | 'uncorrected';
}
export interface AdamState { count: number; m: Record<string, Float32Array>; v: Record<string, Float32Array> }

/**
 * Adam's direction: m ← β1·m + (1−β1)·u, v ← β2·v + (1−β2)·u², then
 * u ← (m/(1−β1ᵗ)) / (√v/√(1−β2ᵗ) + ε). The ε placement is PyTorch's (`Adam`, `AdamW`) and
 * optax's `scale_by_adam` (ε added to √v̂, not inside the root).
 */
export function scaleByAdam(options: AdamOptions = {}): GradientTransformation<AdamState> {
  const b1 = options.b1 ?? 0.9, b2 = options.b2 ?? 0.999, eps = options.eps ?? 1e-8;
  const uncorrected = options.epsilon === 'uncorrected';
  return fromFused('scale_by_adam',
    (params, alloc) => ({ count: 0, m: zerosLike(params, alloc), v: zerosLike(params, alloc) }),
    (params, state) => {
      const ops = params.map((p) => fusedOp([state.m[p.name], state.v[p.name]]));
      return {
        ops: ops.map((op) => [op]),
        prepare() {
          state.count++;
          const bc1 = 1 - Math.pow(b1, state.count), sqrtBc2 = Math.sqrt(1 - Math.pow(b2, state.count));
          const epsHat = uncorrected ? eps / sqrtBc2 : eps;
          for (const op of ops) encodeAdam(op.args, 0, b1, b2, bc1, sqrtBc2, epsHat);
        },
      };
    });
}

/**
 * Decoupled, lr-coupled decay: u ← u + c·w, placed after the moments and before the
 * learning-rate scale, so each step shrinks w by η_t·c. PyTorch `AdamW(weight_decay=c)`
 * (which multiplies w by 1 − η·c before the Adam step; the same to float rounding), optax
 * `add_decayed_weights` inside `adamw`.
 */
export function addDecayedWeights(decay: Coefficient<DecoupledDecay>): GradientTransformation<NoState> {
  return addScaledWeights('add_decayed_weights', decay, 1);
}

export interface CountState { count: number }

/** u ← −η_t·u, η_t from the schedule at the update count t. The one place the sign flips. */
export function scaleByLearningRate(spec: ScheduleSpec | number): GradientTransformation<CountState> {
  const schedule: Schedule = createSchedule(typeof spec === 'number' ? { type: 'constant', lr: spec } : spec);
  return fromFused('scale_by_learning_rate', () => ({ count: 0 }), (params, state) => {
    const ops = params.map(() => fusedOp());
    return {
      ops: ops.map((op) => [op]),
      prepare() {
        const step = -schedule(state.count);
        for (const op of ops) encodeScale(op.args, 0, step);
        state.count++;
      },
    };
  });
}

/**
 * Decoupled, lr-independent decay: u ← u − δ·w, placed after the learning-rate scale, so each
 * step shrinks w by the fixed fraction δ (tf-addons `SGDW`/`AdamW`, brain.js `regc`).
 */
export function addStepDecay(delta: Coefficient<StepDecay>): GradientTransformation<NoState> {
  return addScaledWeights('add_step_decay', delta, -1);
}

/** u ← u + factor·κ_p·w: coupled L2 (factor 2), decoupled decay (1) and step decay (−1) differ only in place and factor. */
function addScaledWeights(name: string, coefficient: Coefficient<number>, factor: number): GradientTransformation<NoState> {
  const kappa = resolver(coefficient);
  return fromFused(name, () => NO_STATE, (params) => {
    const ops = params.map(() => fusedOp());
    return {
      ops: ops.map((op) => [op]),
      prepare(ctx) {
        for (let i = 0; i < params.length; i++) encodeAddScaledWeights(ops[i].args, 0, factor * kappa(params[i], ctx));
      },
    };
  });
}

/**
 * u ← s_p·u with a fixed multiplier per parameter name (1 when absent): per-group learning
 * rates, as muP's MuAdam/MuSGD set them. Placed just before scaleByLearningRate.
 */
export function scaleByParam(multipliers: Readonly<Record<string, number>>): GradientTransformation<NoState> {
  return fromFused('scale_by_param', () => NO_STATE, (params) => {
    // Constant per name, so encoded once here; a multiplier of 1 needs no op at all.
    const ops: FusedOp[][] = params.map((p) => {
      const s = multipliers[p.name] ?? 1;
      if (s === 1) return [];
      const op = fusedOp();
      encodeScale(op.args, 0, s);
      return [op];
    });
    return { ops, prepare() {} };
  });
}
