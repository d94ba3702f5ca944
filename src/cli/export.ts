/**
 * `ridgeline export`: a trained model as ONNX (`--format onnx`), for ONNX Runtime and every
 * framework that reads ONNX. Scripts that re-run a training in another framework (`--run DIR
 * --to pytorch|sklearn|keras`) are issue #19's next step.
 */
import { Command, Option } from 'commander';
import { z } from 'zod';
import { decodeModel } from '../format/model-file.js';
import { encodeOnnx } from '../format/onnx.js';
import { readFileBytes, writeOutput } from '../node/files.js';
import { validateOptions } from './options.js';

const schema = z.object({
  model: z.string().min(1),
  format: z.enum(['onnx']),
  out: z.string().min(1),
  softmax: z.boolean().optional(),
});

export function exportCommand(): Command {
  return new Command('export')
    .description('write a trained model in another format: ONNX (opset 17) for ONNX Runtime and other frameworks')
    .requiredOption('--model <file>', 'a model.safetensors written by train')
    .addOption(new Option('--format <format>', 'the format').choices(['onnx']).default('onnx'))
    .requiredOption('--out <file>', "where to write it ('-' for standard output)")
    .option('--softmax', 'end the graph with a softmax: output `probabilities` instead of `logits`')
    .action(async (_o, cmd: Command) => {
      const o = validateOptions(schema, cmd.opts());
      const file = decodeModel(await readFileBytes(o.model, o.model), o.model);
      const tensors = [...file.tensors].map(([name, t]) => ({ name, shape: [...t.shape], value: t.data as Float32Array }));
      const bytes = encodeOnnx(file.spec, tensors, { softmax: !!o.softmax, metadata: file.metadata.training ? { ridgeline_training: file.metadata.training } : {} });
      await writeOutput(o.out, bytes);
      if (o.out !== '-') process.stderr.write(`wrote ${o.out} (ONNX opset 17, ${bytes.length} bytes, output ${o.softmax ? 'probabilities' : 'logits'})\n`);
    });
}
