/**
 * The network of a trial: the study's base model with the axis applied, as an `--arch` string
 * (the grammar of nn/spec.ts), so a trial record names its model exactly and any trial can be
 * rerun with `ridgeline train --arch`. Pure.
 *
 *   width  hidden base: every hidden width set to the value; arch base: every hidden dense
 *          layer's units and every conv layer's filters multiplied by the value (rounded, ≥ 1)
 *   depth  hidden base: that many hidden layers of the first width; arch base: the block in
 *          braces repeated that many times
 *   norm   bn or ln after every hidden dense and conv layer (existing ones removed first)
 *   tpp    "WIDTHxROWS": the width part as the width axis does
 */
import { ConfigError } from '../errors.js';
import { tppValue, type StudyConfig, type Axis } from './config.js';

export interface TrialModel {
  arch: string;
  /** muP's width multiplier m, for studies with base.mupBaseWidth. */
  mupWidthMult?: number;
}

export function trialModel(base: StudyConfig['base'], axis: Axis, value: number | string, classes: number): TrialModel {
  const width = axis === 'width' ? (value as number) : axis === 'tpp' ? tppValue(value).width : undefined;
  const depth = axis === 'depth' ? (value as number) : 1;
  const norm = axis === 'norm' ? (value === 'batchnorm' ? 'bn' : value === 'layernorm' ? 'ln' : 'none') : undefined;
  if (base.hidden !== undefined) {
    const hidden = axis === 'depth' ? Array.from({ length: depth }, () => base.hidden![0]) : base.hidden.map((w) => width ?? w);
    const layers = hidden.flatMap((w) => [`dense:${w}`, ...(norm && norm !== 'none' ? [norm] : []), 'relu']);
    const arch = [...layers, `dense:${classes}`].join(',');
    return base.mupBaseWidth !== undefined ? { arch, mupWidthMult: (width ?? base.hidden[0]) / base.mupBaseWidth } : { arch };
  }
  let tokens = expandBlock(base.arch!, depth);
  if (width !== undefined) tokens = scaleWidth(tokens, width);
  if (norm !== undefined) tokens = setNorm(tokens, norm);
  const arch = tokens.join(',');
  return base.mupBaseWidth !== undefined ? { arch, mupWidthMult: width ?? 1 } : { arch };
}

/** The tokens with the brace-marked block written `times` times (and the braces removed). */
function expandBlock(arch: string, times: number): string[] {
  const tokens = arch.split(',').map((t) => t.trim());
  const open = tokens.findIndex((t) => t.startsWith('{'));
  const close = tokens.findIndex((t) => t.endsWith('}'));
  if (open === -1 && close === -1) return tokens;
  const count = (ch: string) => arch.split(ch).length - 1;
  if (open === -1 || close < open || count('{') !== 1 || count('}') !== 1) {
    throw new ConfigError(`base.arch: mark one block with one pair of braces, e.g. "conv:16x3p1,relu,{conv:16x3p1,relu},flatten,dense:10"; got "${arch}"`);
  }
  const block = tokens.slice(open, close + 1).map((t) => t.replace(/^\{/, '').replace(/\}$/, ''));
  return [...tokens.slice(0, open), ...Array.from({ length: times }, () => block).flat(), ...tokens.slice(close + 1)];
}

function scaleWidth(tokens: string[], m: number): string[] {
  const lastDense = tokens.map((t) => t.startsWith('dense:')).lastIndexOf(true);
  const scaled = (n: number) => Math.max(1, Math.round(n * m));
  return tokens.map((t, i) => {
    const dense = /^dense:(\d+)$/.exec(t);
    if (dense && i !== lastDense) return `dense:${scaled(Number(dense[1]))}`;
    const conv = /^conv:(\d+)(x.*)$/.exec(t);
    return conv ? `conv:${scaled(Number(conv[1]))}${conv[2]}` : t;
  });
}

function setNorm(tokens: string[], norm: 'bn' | 'ln' | 'none'): string[] {
  const plain = tokens.filter((t) => !/^(bn|ln)(:|$)/.test(t));
  const lastDense = plain.map((t) => t.startsWith('dense:')).lastIndexOf(true);
  return plain.flatMap((t, i) => (norm !== 'none' && i !== lastDense && /^(dense|conv):/.test(t) ? [t, norm] : [t]));
}
