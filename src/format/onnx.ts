/**
 * A trained model as an ONNX graph (opset 17), for ONNX Runtime and every tool that reads ONNX.
 * The protobuf is written by the `onnx-proto` package (protobufjs with ONNX's own schema), not
 * by hand. Pure: a spec and its tensors in, bytes out.
 *
 * One node (or a few) per layer, in PyTorch's layout so weights go in unchanged (NCHW images,
 * dense weights [out, in]):
 *
 *   dense          Flatten (when its input is an image) → Gemm(transB = 1)
 *   conv2d         Conv(kernel, strides, pads)
 *   maxpool2d      MaxPool; avgpool2d AveragePool (no padding, so count_include_pad is moot)
 *   globalavgpool  GlobalAveragePool → Flatten
 *   flatten        Flatten(axis 1)
 *   batchnorm      BatchNormalization(ε) with the running statistics (eval mode)
 *   layernorm      LayerNormalization(axis 1, ε) over the example's whole shape
 *   relu, tanh     Relu, Tanh; gelu as 0.5·x·(1 + erf(x/√2)) (Gelu is opset 20)
 *   dropout        nothing (inference)
 *
 * The input is `input` [batch, …example shape], the output `logits` [batch, classes], or
 * `probabilities` after a Softmax when asked. The architecture (ridgeline's JSON spec and its
 * `--arch` string) goes into the model's metadata_props.
 */
import onnxProto from 'onnx-proto';
import { archToken, layerNames, layerShapes, type ModelSpec } from '../nn/spec.js';
import type { ModelBuffer } from '../tensor/param.js';
import { DataError } from '../errors.js';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const A = onnx.AttributeProto.AttributeType;

export const ONNX_OPSET = 17;

export interface OnnxOptions {
  /** Append a Softmax and name the output `probabilities`. */
  softmax?: boolean;
  /** Extra metadata_props (key → value). */
  metadata?: Record<string, string>;
}

type Node = onnxProto.onnx.INodeProto;
type Initializer = onnxProto.onnx.ITensorProto;

const ints = (name: string, values: number[]) => ({ name, type: A.INTS, ints: values });
const int = (name: string, value: number) => ({ name, type: A.INT, i: value });
const float = (name: string, value: number) => ({ name, type: A.FLOAT, f: value });

function floatTensor(name: string, dims: number[], data: Float32Array): Initializer {
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
}

/** ONNX bytes of a model: `tensors` are its parameters and buffers by name (dense1.weight, bn1.running_mean, …). */
export function encodeOnnx(spec: ModelSpec, tensors: readonly ModelBuffer[], options: OnnxOptions = {}): Uint8Array {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const tensor = (name: string): ModelBuffer => {
    const t = byName.get(name);
    if (!t) throw new DataError(`cannot export: the model has no tensor ${name}`);
    return t;
  };
  const shapes = layerShapes(spec);
  const nodes: Node[] = [];
  const initializers: Initializer[] = [];
  const names = layerNames(spec);
  let current = 'input';
  let serial = 0;
  const fresh = (base: string) => `${base}_${serial++}`;
  const add = (opType: string, inputs: string[], attributes: onnxProto.onnx.IAttributeProto[] = [], name?: string): string => {
    const output = fresh(name ?? opType.toLowerCase());
    nodes.push({ opType, input: inputs, output: [output], name: output, attribute: attributes });
    return output;
  };
  const param = (name: string, dims?: number[]): string => {
    const t = tensor(name);
    initializers.push(floatTensor(name, dims ?? [...t.shape], t.value));
    return name;
  };
  const constant = (value: number): string => {
    const name = fresh('const');
    initializers.push(floatTensor(name, [], Float32Array.of(value)));
    return name;
  };

  spec.layers.forEach((layer, i) => {
    const name = names[i], input = shapes[i];
    switch (layer.type) {
      case 'dense':
        if (input.length > 1) current = add('Flatten', [current], [int('axis', 1)], `${name}_flatten`);
        current = add('Gemm', [current, param(`${name}.weight`), param(`${name}.bias`)], [int('transB', 1)], name);
        break;
      case 'conv2d': {
        const s = layer.stride ?? 1, p = layer.padding ?? 0;
        current = add('Conv', [current, param(`${name}.weight`), param(`${name}.bias`)],
          [ints('kernel_shape', [layer.kernel, layer.kernel]), ints('strides', [s, s]), ints('pads', [p, p, p, p])], name);
        break;
      }
      case 'maxpool2d': case 'avgpool2d': {
        const s = layer.stride ?? layer.size;
        current = add(layer.type === 'maxpool2d' ? 'MaxPool' : 'AveragePool', [current],
          [ints('kernel_shape', [layer.size, layer.size]), ints('strides', [s, s])], name);
        break;
      }
      case 'globalavgpool':
        current = add('Flatten', [add('GlobalAveragePool', [current], [], name)], [int('axis', 1)], `${name}_flatten`);
        break;
      case 'flatten':
        current = add('Flatten', [current], [int('axis', 1)], name);
        break;
      case 'batchnorm':
        current = add('BatchNormalization', [current, param(`${name}.weight`), param(`${name}.bias`), param(`${name}.running_mean`), param(`${name}.running_var`)],
          [float('epsilon', layer.eps ?? 1e-5)], name);
        break;
      case 'layernorm':
        current = add('LayerNormalization', [current, param(`${name}.weight`), param(`${name}.bias`)], [int('axis', 1), float('epsilon', layer.eps ?? 1e-5)], name);
        break;
      case 'relu': current = add('Relu', [current], [], name); break;
      case 'tanh': current = add('Tanh', [current], [], name); break;
      case 'gelu': {
        // 0.5·x·(1 + erf(x/√2)), PyTorch's exact GELU.
        const erf = add('Erf', [add('Div', [current, constant(Math.SQRT2)])]);
        current = add('Mul', [add('Mul', [current, add('Add', [erf, constant(1)])]), constant(0.5)], [], name);
        break;
      }
      case 'dropout': break;
      default: throw new DataError(`cannot export layer ${archToken(layer)} to ONNX`);
    }
  });
  const outputName = options.softmax ? 'probabilities' : 'logits';
  if (options.softmax) current = add('Softmax', [current], [int('axis', 1)]);
  nodes.push({ opType: 'Identity', input: [current], output: [outputName], name: outputName });

  const dim = (d: number | string) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d });
  const valueInfo = (name: string, dims: (number | string)[]) => ({
    name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map(dim) } } },
  });
  const inputShape = spec.inputShape ?? [spec.inputSize];
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'ridgeline',
    graph: {
      name: 'ridgeline',
      node: nodes,
      initializer: initializers,
      input: [valueInfo('input', ['batch', ...inputShape])],
      output: [valueInfo(outputName, ['batch', spec.classes])],
    },
    metadataProps: Object.entries({
      ridgeline_architecture: JSON.stringify(spec),
      ridgeline_arch: spec.layers.map(archToken).join(','),
      ...(options.metadata ?? {}),
    }).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}
