/**
 * `ridgeline convert` and `ridgeline conventions`: one coefficient in every other framework's
 * convention, with the formula and the assumptions, and the list of conventions.
 */
import { formatShrink } from '../regularization/shrink.js';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { CONTEXT_FLAGS, CONVENTIONS, parseCoefficient, symbol } from '../regularization/conventions.js';
import { OPTIMIZERS } from '../optim/names.js';
import { convert, type ConversionReport, type ConvertOptimizer } from '../regularization/convert.js';
import { withFlags } from './flags.js';
import { validateOptions, num } from './options.js';

const optionalNum = num.optional();
const schema = z.object({
  from: z.string().min(1),
  to: z.string().optional(),
  optimizer: z.enum(OPTIMIZERS as [string, ...string[]]),
  lr: optionalNum, batch: optionalNum, n: optionalNum, momentum: optionalNum,
  params: optionalNum, epochs: optionalNum, widthMult: optionalNum,
  json: z.boolean().optional(),
});

export function convertCommand(): Command {
  return new Command('convert')
    .description("express one regularization coefficient in every other framework's convention")
    .requiredOption('--from <coef>', "the coefficient, e.g. 'pytorch-sgd:weight_decay=5e-4' (see `ridgeline conventions`)")
    .option('--to <ids>', 'comma-separated conventions to convert to (default: all)')
    .addOption(new Option('--optimizer <name>', 'the optimizer the coefficients act under').choices(OPTIMIZERS as string[]).default('sgd'))
    .option('--lr <η>', 'learning rate (peak)')
    .option('--batch <B>', 'batch size')
    .option('--n <N>', 'training-set size')
    .option('--momentum <μ>', 'heavy-ball momentum (with --optimizer momentum or nesterov)')
    .option('--params <P>', 'number of decayed parameters (per-weight conventions)')
    .option('--epochs <T>', 'training epochs (normalized weight decay)')
    .option('--width-mult <m>', 'width multiplier (muP)')
    .option('--json', 'print the report as JSON')
    .action((_o, cmd: Command) => {
      const o = validateOptions(schema, cmd.opts());
      const given = parseCoefficient(o.from, 'seed', '--from');
      const report = convert(given, {
        optimizer: o.optimizer as ConvertOptimizer, lr: o.lr, batch: o.batch, n: o.n,
        momentum: o.momentum ?? (o.optimizer === 'momentum' || o.optimizer === 'nesterov' ? undefined : 0),
        params: o.params, epochs: o.epochs, widthMult: o.widthMult,
      }, o.to?.split(',').map((s) => s.trim()).filter(Boolean));
      process.stdout.write(withFlags(o.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report)));
    });
}

export function conventionsCommand(): Command {
  return new Command('conventions')
    .description('list the regularization conventions ridgeline speaks, with their formulas')
    .option('--json', 'print as JSON')
    .action((o: { json?: boolean }) => {
      if (o.json) {
        const rows = CONVENTIONS.map(({ id, param, framework, kind, formula, source, needs, decays, per, notes }) =>
          ({ id, param, framework, kind, formula, source, needs: needs.map((k) => CONTEXT_FLAGS[k]), decays, per: per ?? null, notes: notes ?? null }));
        process.stdout.write(withFlags(JSON.stringify(rows, null, 2) + '\n'));
        return;
      }
      const lines = [
        'Kinds: coupled → λ_E of E = mean CE + λ_E·Σw² (gradient 2λ_E·w, before the moments);',
        '       decoupled → c, each step shrinks w by δ_t = η_t·c (after the moments);',
        '       step → δ per step whatever η (after the learning rate).',
        '',
      ];
      for (const c of CONVENTIONS) {
        lines.push(`${c.id}:${c.param}=…  [${c.kind}]  ${c.formula}`);
        lines.push(`    ${c.framework}`);
        lines.push(`    reads: ${c.needs.length ? c.needs.map((k) => `${symbol(k)} (${CONTEXT_FLAGS[k]})`).join(', ') : 'nothing'}; decays by default: ${c.decays}`);
        lines.push(`    source: ${c.source}`);
        if (c.notes) lines.push(`    note: ${c.notes}`);
      }
      process.stdout.write(withFlags(lines.join('\n') + '\n'));
    });
}

function formatReport(r: ConversionReport): string {
  const fmt = (v: number) => String(Number(v.toPrecision(6)));
  const ctx = Object.entries(r.context).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`).join(', ');
  const out = [
    `${r.from.text}  [${r.from.kind}]  →  ${r.canonical.unit} = ${fmt(r.canonical.value)}`,
    `context: ${ctx}`,
    r.shrink === null ? 'δ per step: undefined (give --lr)' : formatShrink(r.shrink, r.stepsPerEpoch, r.context.momentum),
    '',
  ];
  const width = Math.max(...r.results.map((x) => `${x.convention}:${x.param}`.length));
  for (const x of r.results) {
    const name = `${x.convention}:${x.param}`.padEnd(width);
    const value = x.value === null ? '—'.padEnd(12) : fmt(x.value).padEnd(12);
    out.push(`${name}  ${value}  ${x.formula}${x.exactness && x.exactness !== 'exact' ? `  (${x.exactness})` : ''}`);
    for (const n of x.notes) out.push(`${' '.repeat(width + 2)}${n}`);
  }
  return out.join('\n') + '\n';
}
