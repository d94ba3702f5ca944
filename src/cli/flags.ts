/**
 * The command line's names for the library's fields. Library errors and notes name the field a
 * caller sets (`context.batch`, `options.decayParams`, `config.batchSize`); the CLI prints the
 * flag that sets it (`--batch`, `--decay-params`). This table is the one place that maps them:
 * main.ts applies it to every user error, and the commands to the notes and reports they print.
 */
import { ARCH_FIELD } from '../format/model-file.js';
import { PARSE_ARCH } from '../nn/spec.js';
import { CONTEXT_FLAGS, type ContextKey } from '../regularization/conventions.js';
import { contextField, regularizationField } from '../regularization/fields.js';
import { CONFIG_FIELDS } from '../train/trainer.js';

const FLAGS: Record<string, string> = {
  ...Object.fromEntries((Object.keys(CONTEXT_FLAGS) as ContextKey[]).map((k) => [contextField(k), CONTEXT_FLAGS[k]])),
  [contextField('optimizer')]: '--optimizer',
  [regularizationField('l2')]: '--l2',
  [regularizationField('decay')]: '--decay',
  [regularizationField('decayParams')]: '--decay-params',
  [regularizationField('decayMult')]: '--decay-mult',
  [regularizationField('widthMult')]: '--width-mult',
  [CONFIG_FIELDS.batchSize]: '--batch',
  [CONFIG_FIELDS.epochs]: '--epochs',
  [CONFIG_FIELDS.optimizer]: '--optimizer',
  [ARCH_FIELD]: '--arch',
  [PARSE_ARCH]: '--arch',
};

// Longest first, so `config.optimizer.name` is not read as `config.optimizer` + `.name`.
const PATTERN = new RegExp(`(?<![\\w.])(${Object.keys(FLAGS).sort((a, b) => b.length - a.length).map((k) => k.replace(/\./g, '\\.')).join('|')})(?![\\w])`, 'g');

/** `text` with every library field name replaced by the flag that sets it. */
export function withFlags(text: string): string {
  return text.replace(PATTERN, (field) => FLAGS[field]);
}
