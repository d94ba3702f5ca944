/**
 * Optimizer state is a tree of records, arrays, numbers and Float32Arrays. These two functions
 * turn any such tree into (path → tensor, path → number) and back into a freshly initialized
 * tree of the same structure, so checkpoints need no per-transform code.
 */
import { DataError } from '../errors.js';

export interface FlatState {
  tensors: Map<string, Float32Array>;
  scalars: Record<string, number>;
}

export function flattenState(state: unknown, prefix = 'opt'): FlatState {
  const flat: FlatState = { tensors: new Map(), scalars: {} };
  const walk = (node: unknown, path: string) => {
    if (node instanceof Float32Array) flat.tensors.set(path, node);
    else if (typeof node === 'number') flat.scalars[path] = node;
    else if (Array.isArray(node)) node.forEach((child, i) => walk(child, `${path}.${i}`));
    else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) walk(v, `${path}.${k}`);
    } else throw new Error(`optimizer state at ${path} is not plain data`);
  };
  walk(state, prefix);
  return flat;
}

/**
 * Copies saved values into `target` (a state freshly made by `init` for the same model and
 * optimizer). Every entry must be present with the same size: a checkpoint from another
 * optimizer or model is an error, not a silent partial restore.
 */
export function restoreState(target: unknown, saved: FlatState, prefix = 'opt', what = 'checkpoint'): void {
  const walk = (node: unknown, path: string, set: (v: number) => void) => {
    if (node instanceof Float32Array) {
      const t = saved.tensors.get(path);
      if (!t) throw new DataError(`${what} has no optimizer tensor ${path} (was it made with another optimizer?)`);
      if (t.length !== node.length) throw new DataError(`${what}: optimizer tensor ${path} has ${t.length} values, expected ${node.length}`);
      node.set(t);
    } else if (typeof node === 'number') {
      const v = saved.scalars[path];
      if (typeof v !== 'number') throw new DataError(`${what} has no optimizer value ${path}`);
      set(v);
    } else if (Array.isArray(node)) {
      node.forEach((child, i) => walk(child, `${path}.${i}`, (v) => { node[i] = v; }));
    } else if (node !== null && typeof node === 'object') {
      const rec = node as Record<string, unknown>;
      for (const [k, v] of Object.entries(rec)) walk(v, `${path}.${k}`, (x) => { rec[k] = x; });
    }
  };
  walk(target, prefix, () => { throw new Error('optimizer state root cannot be a number'); });
}
