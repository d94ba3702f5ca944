/**
 * `ridgeline predict`: class predictions for the rows of a CSV file, written as CSV
 * (row, label, class name, one probability column per class).
 */
import { Command, Option } from 'commander';
import { z } from 'zod';
import { FASHION_MNIST_CLASSES } from '../data/dataset.js';
import { loadCsvFile } from '../node/datasets.js';
import { writeOutput } from '../node/files.js';
import { loadModel } from '../node/run-dir.js';
import { predict } from '../train/evaluate.js';
import { Log } from './log.js';
import { exampleShape, positiveInt, validateOptions } from './options.js';
import { backendOption, resolveBackend } from './backend-option.js';

const schema = z.object({
  model: z.string().min(1),
  backend: z.string(),
  input: z.string().min(1),
  output: z.string().optional(),
  labelColumn: z.enum(['auto', 'first', 'last', 'none']),
  arch: z.string().min(1).optional(),
  shape: exampleShape.optional(),
  classes: positiveInt.optional(),
});

export function predictCommand(): Command {
  return new Command('predict')
    .description('predict classes for the rows of a CSV file (pixel values 0–255)')
    .requiredOption('--model <file>', 'model.safetensors written by `ridgeline train --out`')
    .requiredOption('--input <file.csv>', 'one image per row; a label column is allowed and ignored')
    .option('--output <file.csv>', 'where to write predictions (default: stdout)')
    .addOption(new Option('--label-column <where>', "'auto': a row with one more column than the model's inputs has its label first")
      .choices(['auto', 'first', 'last', 'none']).default('auto'))
    .option('--arch <spec>', "the network of a file that is not a ridgeline model (a PyTorch state_dict saved as safetensors)")
    .option('--shape <CxHxW>', 'with --arch: the shape of each row, e.g. 1x28x28 (default 1x28x28 for 784 columns)')
    .option('--classes <n>', 'with --arch: the number of classes', '10')
    .addOption(backendOption())
    .action(async (_o, cmd: Command) => {
      const opts = validateOptions(schema, cmd.opts());
      const log = new Log({ quiet: false, json: false });
      const arch = opts.arch === undefined ? undefined : { text: opts.arch, inputShape: opts.shape ?? [1, 28, 28], classes: opts.classes ?? 10 };
      const { model } = await loadModel(opts.model, await resolveBackend(opts.backend, log), { arch });
      const csv = await loadCsvFile(opts.input, { labelColumn: opts.labelColumn, header: 'auto', features: model.spec.inputSize });
      const predictions = predict(model, csv.images, csv.count);
      const classes = model.spec.classes;
      const names = classes === FASHION_MNIST_CLASSES.length ? FASHION_MNIST_CLASSES : null;
      const header = ['row', 'label', 'class', ...Array.from({ length: classes }, (_, j) => `p${j}`)].join(',');
      const lines = predictions.map((p, i) => [
        i, p.label, names ? JSON.stringify(names[p.label]) : '', ...Array.from(p.probabilities, (v) => v.toPrecision(6)),
      ].join(','));
      const text = [header, ...lines].join('\n') + '\n';
      if (opts.output) {
        await writeOutput(opts.output, text);
        if (opts.output !== '-') log.result(`wrote ${predictions.length} predictions to ${opts.output}`);
      } else {
        process.stdout.write(text);
      }
    });
}
