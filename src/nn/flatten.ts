/**
 * Flatten: C×H×W → C·H·W. Activations are already stored flat per example in NCHW order (the
 * order PyTorch's `nn.Flatten` produces), so this layer only changes the declared shape.
 */
import { PassThrough } from './layer.js';

export class Flatten extends PassThrough {}
