/**
 * The optimizer side of muP (microsoft/mup, `MuAdam`/`MuAdamW`): parameters whose two
 * dimensions both grow with width ("matrix-like": hidden-to-hidden weights) get their learning
 * rate divided by the width multiplier m and their weight decay multiplied by it, so η·wd is
 * the same at every width. Input and output weights and biases ("vector-like") are unchanged.
 * (MuSGD scales the vector-like ones instead; MuReadout changes the model itself. Neither is
 * applied here.)
 */
import { ConfigError } from '../errors.js';
import { isWeightKind, type ParamKind } from '../tensor/param.js';

export interface MupAdjustment {
  /** Parameter name → learning-rate multiplier (1/m for matrix-like). */
  lrScale: Record<string, number>;
  /** Parameter name → weight-decay multiplier (m for matrix-like). */
  decayScale: Record<string, number>;
  matrixLike: string[];
}

/**
 * In an MLP every weight but the first (input features → hidden) and the last (hidden →
 * classes) maps hidden to hidden: those are the matrix-like ones. In a CNN the same holds for
 * conv kernels (fan-in C·k² and fan-out both grow with the channel count). `shapes` are in
 * layer order.
 */
export function mupAdjustment(shapes: readonly { name: string; shape: readonly number[]; kind: ParamKind }[], m: number): MupAdjustment {
  if (!(Number.isFinite(m) && m > 0)) throw new ConfigError(`muP needs a positive width multiplier m, got ${m}`);
  const weights = shapes.filter((p) => isWeightKind(p.kind));
  const matrixLike = weights.slice(1, -1).map((p) => p.name);
  return {
    lrScale: Object.fromEntries(matrixLike.map((n) => [n, 1 / m])),
    decayScale: Object.fromEntries(matrixLike.map((n) => [n, m])),
    matrixLike,
  };
}
