/**
 * The objective and its optimizer, assembled from data: the seed objective's data term is the
 * loss module's; this file adds the regularization terms — their penalty value (coupled terms
 * only: decoupled decay has no objective) and their transforms at the right places of the
 * chain around the optimizer's moments.
 */
import type { Backend } from '../kernels/backend.js';
import { createOptimizer, type OptimizerConfig } from '../optim/recipes.js';
import { masked, type GradientTransformation } from '../optim/transform.js';
import { addDecayedWeights, addL2Gradient, addStepDecay } from '../optim/transforms.js';
import { decayMask } from '../regularization/mask.js';
import { termResolver, type RegTerm } from '../regularization/plan.js';
import type { DecoupledDecay, L2Coefficient, StepDecay } from '../regularization/units.js';
import type { Param } from '../tensor/param.js';

export function buildUpdate(optimizer: OptimizerConfig, terms: readonly RegTerm[]): GradientTransformation<any> {
  const beforeMoments: GradientTransformation<any>[] = [];
  const afterMoments: GradientTransformation<any>[] = [];
  const afterLr: GradientTransformation<any>[] = [];
  for (const term of terms) {
    const mask = decayMask(term.decayParams);
    const coefficient = termResolver(term);
    // The resolver keeps the term's unit; the brands restate it for the transform's signature.
    switch (term.kind) {
      case 'coupled':
        beforeMoments.push(masked(addL2Gradient((p, s) => coefficient(p, s.batchSize) as L2Coefficient), mask));
        break;
      case 'decoupled':
        afterMoments.push(masked(addDecayedWeights((p, s) => coefficient(p, s.batchSize) as DecoupledDecay), mask));
        break;
      case 'step':
        afterLr.push(masked(addStepDecay((p, s) => coefficient(p, s.batchSize) as StepDecay), mask));
        break;
    }
  }
  return createOptimizer(optimizer, { beforeMoments, afterMoments, afterLr });
}

/**
 * Σ_terms Σ_p λ_p·Σw² over the coupled terms, at a step of `batchSize` examples: the penalty
 * whose gradient the chain adds, so the logged loss is the loss that is optimized.
 */
export class Penalty {
  private readonly entries: { param: Param; coefficient: ReturnType<typeof termResolver> }[];

  constructor(terms: readonly RegTerm[], params: readonly Param[], private readonly backend: Backend) {
    this.entries = terms.filter((t) => t.kind === 'coupled').flatMap((term) => {
      const coefficient = termResolver(term);
      return params.filter(decayMask(term.decayParams)).map((param) => ({ param, coefficient }));
    });
  }

  value(batchSize: number): number {
    let sum = 0;
    for (const { param, coefficient } of this.entries) {
      const lambda = coefficient(param, batchSize);
      if (lambda !== 0) sum += lambda * this.backend.sumSquares(param.value, param.value.length);
    }
    return sum;
  }
}
