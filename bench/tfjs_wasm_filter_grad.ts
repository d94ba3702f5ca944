/**
 * A `Conv2DBackpropFilter` kernel for @tensorflow/tfjs-backend-wasm 4.22, which registers
 * Conv2D and Conv2DBackpropInput but not the filter gradient (tensorflow/tfjs#8474, open): without
 * it, training any conv layer on the wasm backend throws "Kernel 'Conv2DBackpropFilter' not
 * registered for backend 'wasm'". The bench registers this only in the tfjs-wasm CNN run, and
 * the report says so (details.conv2d_backprop_filter): stock tfjs-wasm cannot train the CNN at all.
 *
 * It uses only the wasm backend's own kernels (Transpose, and Conv2D, which is XNNPACK), so every
 * byte stays in wasm memory. For stride 1 and dilation 1, NHWC:
 *
 *   dW[kh, kw, c, f] = Σ_{n,i,j} x[n, i+kh−pt, j+kw−pl, c] · dy[n, i, j, f]
 *
 * is a convolution of x' = xᵀ[C, H, W, N] (C as the batch, N as the channels) with the filter
 * dy' = dyᵀ[oH, oW, N, F], padded as the forward conv was: the output is [C, K, K, F], transposed
 * to the filter layout [K, K, C, F]. Other strides throw (the bench's CNN has none).
 */
import type * as TfModule from '@tensorflow/tfjs';

type Tf = typeof TfModule;
type TensorInfo = TfModule.TensorInfo;

export const FILTER_GRAD_SHIM = 'Conv2DBackpropFilter registered by bench/tfjs_wasm_filter_grad.ts (tfjs-backend-wasm 4.22 has none, tensorflow/tfjs#8474): ' +
  'transpose x to [C,H,W,N] and dy to [oH,oW,N,F], wasm Conv2D (XNNPACK), transpose to [K,K,C,F]';

/** Registers the kernel unless the wasm backend already has one; returns whether it did. */
export function registerWasmFilterGrad(tf: Tf): boolean {
  if (tf.getKernelsForBackend('wasm').some((k) => k.kernelName === 'Conv2DBackpropFilter')) return false;
  const transpose = tf.getKernel('Transpose', 'wasm').kernelFunc;
  const conv2d = tf.getKernel('Conv2D', 'wasm').kernelFunc;
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
      const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as {
        strides: number | [number, number]; pad: 'same' | 'valid' | number; dataFormat: 'NHWC' | 'NCHW';
        dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number];
      };
      const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad,
        dimRoundingMode, false, tf.backend_util.convertConv2DDataFormat(dataFormat));
      if (info.strideHeight !== 1 || info.strideWidth !== 1 || info.dataFormat !== 'channelsLast') {
        throw new Error('bench Conv2DBackpropFilter shim: only stride 1, NHWC');
      }
      const b = backend as unknown as { disposeData(id: unknown): boolean };
      const run = (f: typeof transpose, ins: Record<string, TensorInfo>, at: Record<string, unknown>) =>
        f({ inputs: ins, backend, attrs: at as unknown as TfModule.NamedAttrMap }) as TensorInfo;
      const xT = run(transpose, { x }, { perm: [3, 1, 2, 0] });       // [C, H, W, N]
      const dyT = run(transpose, { x: dy }, { perm: [1, 2, 0, 3] });  // [oH, oW, N, F]
      const { top, bottom, left, right } = info.padInfo;
      const g = run(conv2d, { x: xT, filter: dyT }, {
        strides: 1, dilations: 1, dataFormat: 'NHWC', dimRoundingMode,
        pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
      });                                                              // [C, K, K, F]
      const dW = run(transpose, { x: g }, { perm: [1, 2, 0, 3] });     // [K, K, C, F]
      for (const t of [xT, dyT, g]) b.disposeData(t.dataId);
      if (dW.shape.some((d, i) => d !== filterShape[i])) throw new Error(`bench Conv2DBackpropFilter shim: got [${dW.shape}], want [${filterShape}]`);
      return dW;
    },
  });
  return true;
}
