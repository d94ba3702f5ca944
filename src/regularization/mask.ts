/**
 * Which parameters a penalty or decay touches. Masks are functions of (name, shape, kind),
 * evaluated once when an optimizer is initialized, printed at the start of training and saved
 * with the run. The seed objective penalizes weights, not biases: the default selects dense
 * weights and conv kernels by their kind (not by rank: a LayerNorm gain over C×H×W has rank 3
 * and is not a weight).
 */
import { ConfigError } from '../errors.js';
import { isWeightKind, type Param } from '../tensor/param.js';

export type ParamMask = (p: Pick<Param, 'name' | 'shape' | 'kind'>) => boolean;

/**
 * 'weights' (dense weights and conv kernels: the seed and scikit-learn/ConvNetJS default; not
 * biases, not normalization gains and shifts), 'all' (PyTorch, Keras
 * optimizers, optax), or a comma-separated list of name globs ("dense1.weight,dense2.*").
 */
export type DecaySelection = 'weights' | 'all' | string;

export function decayMask(selection: DecaySelection = 'weights'): ParamMask {
  if (selection === 'weights') return (p) => isWeightKind(p.kind);
  if (selection === 'all') return () => true;
  const patterns = selection.split(',').map((s) => s.trim()).filter(Boolean);
  if (patterns.length === 0) throw new ConfigError(`empty parameter selection '${selection}'`);
  const regexes = patterns.map(globToRegExp);
  return (p) => regexes.some((r) => r.test(p.name));
}

/** A glob over dotted names: `*` matches within one segment, `**` across segments. */
function globToRegExp(glob: string): RegExp {
  if (!/^[\w.*-]+$/.test(glob)) throw new ConfigError(`invalid parameter pattern '${glob}' (use names like dense1.weight, globs like *.weight)`);
  const body = glob.replace(/\./g, '\\.').replace(/\*\*/g, '\u0000').replace(/\*/g, '[^.]*').replace(/\u0000/g, '.*');
  return new RegExp(`^${body}$`);
}

/** Applies a mask and says when it selects nothing, which is almost always a typo. */
export function selectParams<P extends Pick<Param, 'name' | 'shape' | 'kind'>>(params: readonly P[], mask: ParamMask, selection: string): P[] {
  const chosen = params.filter(mask);
  if (chosen.length === 0 && params.length > 0 && selection !== 'none') {
    throw new ConfigError(`parameter selection '${selection}' matches no parameter (parameters: ${params.map((p) => p.name).join(', ')})`);
  }
  return chosen;
}
