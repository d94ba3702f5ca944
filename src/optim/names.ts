/**
 * The optimizer recipes by name: the one list the trainer, the converter, the shrink arithmetic
 * and the CLI read. A leaf module (no imports), so regularization/ can name optimizers without
 * importing the optimizers themselves.
 */
export type OptimizerName = 'sgd' | 'momentum' | 'nesterov' | 'adam' | 'adamw';
export const OPTIMIZERS: readonly OptimizerName[] = ['sgd', 'momentum', 'nesterov', 'adam', 'adamw'];

/** Adam and AdamW divide by the second moment, so a coupled L2 step has no fixed per-step shrink under them. */
export const isAdaptive = (o: OptimizerName): boolean => o === 'adam' || o === 'adamw';
