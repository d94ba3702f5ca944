/**
 * Option validation for every command: commander parses strings, these zod schemas turn them
 * into typed values and produce one precise message per bad option ("--lr: must be a positive
 * number, got '-1'").
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

/** A decimal or scientific-notation number given as a string. */
export const num = z.string().trim().regex(NUMBER, 'must be a number').transform(Number);
export const positive = num.pipe(z.number().positive('must be a positive number'));
export const nonNegative = num.pipe(z.number().nonnegative('must be non-negative'));
export const positiveInt = num.pipe(z.number().int('must be an integer').positive('must be a positive integer'));
export const fraction = num.pipe(z.number().min(0, 'must be in [0, 1)').lt(1, 'must be in [0, 1)'));

/** "256,256" → [256, 256]. */
export const widths = z.string().transform((s, ctx) => {
  const parts = s.split(',').map((p) => p.trim());
  const out: number[] = [];
  for (const p of parts) {
    const v = Number(p);
    if (p === '' || !Number.isInteger(v) || v <= 0) {
      ctx.addIssue({ code: 'custom', message: `each width must be a positive integer, got '${p}'${parts.length > 1 ? ` in '${s}'` : ''}` });
      return z.NEVER;
    }
    out.push(v);
  }
  return out;
});

/** "1x28x28" → [1, 28, 28]: the per-example shape of CSV rows. */
export const exampleShape = z.string().transform((s, ctx) => {
  const parts = s.toLowerCase().split(/[x×]/).map((p) => p.trim());
  if (parts.length < 1 || parts.some((p) => !/^\d+$/.test(p) || Number(p) <= 0)) {
    ctx.addIssue({ code: 'custom', message: `must be positive integers joined by 'x', like 1x28x28, got '${s}'` });
    return z.NEVER;
  }
  return parts.map(Number);
});

/** Validates commander's raw option record; the key of each issue is the option name. */
export function validateOptions<S extends z.ZodType>(schema: S, raw: Record<string, unknown>): z.infer<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    const given = raw[key];
    const echo = given !== undefined && !issue.message.includes('got') ? `, got '${String(given)}'` : '';
    return `${flag}: ${issue.message}${echo}`;
  });
  throw new ConfigError(lines.join('\n'));
}
