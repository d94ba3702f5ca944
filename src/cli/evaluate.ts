/** `ridgeline evaluate`: a saved model's loss and accuracy on a dataset's test (or train) split. */
import { Command, Option } from 'commander';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { loadModel } from '../node/run-dir.js';
import { evaluate } from '../train/evaluate.js';
import { loadSplit } from './data-source.js';
import { Log } from './log.js';
import { validateOptions } from './options.js';
import { backendOption, resolveBackend } from './backend-option.js';

const schema = z.object({
  model: z.string().min(1),
  backend: z.string(),
  data: z.string().optional(),
  split: z.enum(['test', 'train']),
  json: z.boolean().optional(),
  arch: z.string().min(1).optional(),
});

export function evaluateCommand(): Command {
  return new Command('evaluate')
    .description("a saved model's mean cross-entropy and accuracy on a dataset")
    .requiredOption('--model <file>', 'model.safetensors written by `ridgeline train --out`')
    .option('--data <dir|file.csv>', "IDX directory, 'fashion-mnist' or a labelled CSV file; default: the embedded sample")
    .addOption(new Option('--split <name>', 'which part of an IDX dataset').choices(['test', 'train']).default('test'))
    .option('--json', 'print the result as JSON on stdout')
    .option('--arch <spec>', "the network of a file that is not a ridgeline model: a PyTorch state_dict saved as safetensors, mapped by order and shape")
    .addOption(backendOption())
    .action(async (_o, cmd: Command) => {
      const opts = validateOptions(schema, cmd.opts());
      const log = new Log({ quiet: false, json: !!opts.json });
      const { dataset: ds, label } = await loadSplit(opts.data, opts.split);
      const arch = opts.arch === undefined ? undefined : { text: opts.arch, inputShape: ds.shape, classes: ds.classes };
      const { model } = await loadModel(opts.model, await resolveBackend(opts.backend, log), { arch });
      if (ds.features !== model.spec.inputSize) {
        throw new ConfigError(`${opts.model} expects ${model.spec.inputSize} features per example, ${label} has ${ds.features}`);
      }
      const r = evaluate(model, ds);
      log.result(`${label} (${opts.split}, ${r.count} examples): accuracy ${(100 * r.accuracy).toFixed(2)}%, mean CE ${r.loss.toFixed(4)}`);
      log.json({ data: label, split: opts.split, ...r });
    });
}
