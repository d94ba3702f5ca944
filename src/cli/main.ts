#!/usr/bin/env node
/**
 * The ridgeline command line. Each command lives in its own file; this one wires them up and
 * turns user errors (RidgelineError) into a one-line message (library field names printed as
 * the flags that set them) and an exit code, with no stack trace. Anything else is a bug and keeps its stack.
 */
import { Command, CommanderError } from 'commander';
import { RidgelineError } from '../errors.js';
import { backendsCommand } from './backends.js';
import { convertCommand, conventionsCommand } from './convert.js';
import { dataCommand } from './data.js';
import { evaluateCommand } from './evaluate.js';
import { exportCommand } from './export.js';
import { withFlags } from './flags.js';
import { predictCommand } from './predict.js';
import { studyCommand } from './study.js';
import { trainCommand } from './train.js';

const VERSION = '0.1.0';

export function program(): Command {
  const root = new Command('ridgeline')
    .description('train neural-network classifiers with cross-entropy and L2 regularization at the right scale')
    .version(VERSION)
    .showSuggestionAfterError()
    .exitOverride();
  for (const cmd of [trainCommand(), evaluateCommand(), predictCommand(), convertCommand(), conventionsCommand(), studyCommand(), dataCommand(), backendsCommand(), exportCommand()]) {
    root.addCommand(cmd);
  }
  const exitOverrideAll = (c: Command) => { c.exitOverride(); c.commands.forEach(exitOverrideAll); };
  exitOverrideAll(root);
  return root;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has printed its message already; help and --version are not errors.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof RidgelineError) {
      process.stderr.write(`ridgeline: ${withFlags(e.message)}\n`);
      return e.exitCode;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
  process.stderr.write(`ridgeline: internal error (please report): ${(e as Error).stack ?? e}\n`);
  process.exitCode = 70;
});
