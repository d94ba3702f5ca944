/**
 * `ridgeline export`: a trained model as ONNX (`--format onnx`), for ONNX Runtime and every
 * framework that reads ONNX; or a run re-emitted as a PyTorch, scikit-learn or Keras script that
 * trains the same way (`--run DIR --to pytorch|sklearn|keras`, node/export-run.ts).
 */
import { Command, Option } from 'commander';
import { z } from 'zod';
import { decodeModel } from '../format/model-file.js';
import { encodeOnnx } from '../format/onnx.js';
import { readFileBytes, writeOutput } from '../node/files.js';
import { ConfigError } from '../errors.js';
import { SCRIPT_TARGETS, exportScript, type ScriptTarget } from '../node/export-run.js';
import { positiveInt, validateOptions } from './options.js';

const schema = z.object({
  model: z.string().min(1).optional(),
  run: z.string().min(1).optional(),
  format: z.enum(['onnx']),
  to: z.enum(SCRIPT_TARGETS).optional(),
  out: z.string().min(1),
  steps: positiveInt.optional(),
  softmax: z.boolean().optional(),
});

const RUN_WITH: Record<ScriptTarget, string> = {
  pytorch: 'run it with a Python that has torch (Debian: /usr/bin/python3 with python3-torch)',
  sklearn: 'run it with a Python that has scikit-learn (Debian: /usr/bin/python3 with python3-sklearn)',
  keras: 'run it with a Python that has Keras 3 (emitted and syntax-checked only: not run here)',
};

export function exportCommand(): Command {
  return new Command('export')
    .description('write a trained model as ONNX (opset 17), or a run as a PyTorch, scikit-learn or Keras training script')
    .option('--model <file>', 'a model.safetensors written by train (with --format)')
    .option('--run <dir>', 'a run directory (train --out), re-emitted as a script with --to')
    .addOption(new Option('--to <framework>', 'with --run: the framework of the script').choices([...SCRIPT_TARGETS]))
    .option('--steps <n>', 'with --to: run only the first n optimizer steps')
    .addOption(new Option('--format <format>', 'the format').choices(['onnx']).default('onnx'))
    .requiredOption('--out <file>', "where to write it ('-' for standard output)")
    .option('--softmax', 'end the graph with a softmax: output `probabilities` instead of `logits`')
    .action(async (_o, cmd: Command) => {
      const o = validateOptions(schema, cmd.opts());
      if ((o.model === undefined) === (o.run === undefined)) throw new ConfigError('give --model (a model file, for --format) or --run (a run directory, for --to)');
      if (o.run !== undefined) {
        if (o.to === undefined) throw new ConfigError(`--run needs --to: the framework to write the training for (${SCRIPT_TARGETS.join(', ')})`);
        if (o.out === '-') throw new ConfigError('--run writes the script and its row order beside it: give --out a file name');
        const e = await exportScript(o.run, o.out, o.to, o.steps);
        process.stderr.write(`wrote ${o.out} (${e.steps} steps) and its row order ${e.rowsPath}; ${RUN_WITH[o.to]}\n`);
        return;
      }
      const file = decodeModel(await readFileBytes(o.model!, o.model!), o.model!);
      const tensors = [...file.tensors].map(([name, t]) => ({ name, shape: [...t.shape], value: t.data as Float32Array }));
      const bytes = encodeOnnx(file.spec, tensors, { softmax: !!o.softmax, metadata: file.metadata.training ? { ridgeline_training: file.metadata.training } : {} });
      await writeOutput(o.out, bytes);
      if (o.out !== '-') process.stderr.write(`wrote ${o.out} (ONNX opset 17, ${bytes.length} bytes, output ${o.softmax ? 'probabilities' : 'logits'})\n`);
    });
}
