/** loss/: the data term of the objective. Imports kernels/ and nn/layer buffers only. */
export * from './softmax-cross-entropy.js';
