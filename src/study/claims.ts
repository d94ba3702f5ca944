/**
 * What the literature (and common practice) predicts for each axis, as data, and the test of
 * each prediction against a study's measured movement: a claim names the convention whose
 * coefficient it says to hold fixed (so its predicted slope is 0) or states a slope outright
 * (Bergsma et al.'s −0.527). A claim holds when its predicted slope lies inside the measured
 * 95% interval, fails when it lies outside, and is untested when the interval is wider than
 * ±1 octave per doubling (the data could not tell). Pure.
 */
import type { AxisAnalysis, Movement } from './analysis.js';

export interface Claim {
  /** The claim in words. */
  text: string;
  source: string;
  /** The convention whose movement tests it. */
  convention: string;
  /** The slope it predicts for that convention's optimum, octaves per doubling. */
  predicted: number;
  /** Which studies it applies to. */
  applies: (a: AxisAnalysis) => boolean;
}

export type ClaimOutcome = 'holds' | 'fails' | 'untested';

export interface ClaimResult {
  claim: Claim;
  movement: Movement;
  outcome: ClaimOutcome;
}

const along = (axis: AxisAnalysis['axis'], kind: 'coupled' | 'decoupled', name?: (n: string) => boolean) =>
  (a: AxisAnalysis) => a.axis === axis && a.optima[0]?.kind === kind && (name ? name(a.study) : true);
const isMup = (n: string) => /mup/.test(n);

export const CLAIMS: readonly Claim[] = [
  {
    text: 'λ_E of the mean-loss objective needs no correction for the number of weights',
    source: 'the seed objective (PyTorch and Keras apply weight_decay / l2 per weight, summed)',
    convention: 'seed', predicted: 0, applies: along('width', 'coupled'),
  },
  {
    text: 'dividing λ by the number of decayed weights P keeps the optimum fixed as the network widens',
    source: 'the per-weight normalization the seed question asks about',
    convention: 'per-weight', predicted: 0, applies: along('width', 'coupled'),
  },
  {
    text: 'λ_E needs no correction for depth',
    source: 'the seed objective',
    convention: 'seed', predicted: 0, applies: along('depth', 'coupled'),
  },
  {
    text: "the dataset-summed criterion's c = λ_E·N holds across N (λ_E ∝ 1/N): the penalty weighted B/N per minibatch",
    source: 'Bengio (2012), arXiv 1206.5533 §3.1',
    convention: 'bengio', predicted: 0, applies: along('data', 'coupled'),
  },
  {
    text: 'λ_E of the mean-loss objective holds across the batch size',
    source: 'the seed objective (the batch is an estimator of the mean loss)',
    convention: 'seed', predicted: 0, applies: along('batch', 'coupled'),
  },
  {
    text: "scikit-learn's alpha (penalty divided by each batch's size) holds across the batch size",
    source: 'scikit-learn MLPClassifier (alpha = 2B·λ_E)',
    convention: 'sklearn-mlp', predicted: 0, applies: along('batch', 'coupled'),
  },
  {
    text: 'with SGD the timescale 1/(2ηλ_E) steps sets the regularization, so λ_E ∝ 1/η',
    source: 'the EMA view of weight decay (Wang & Aitchison 2024, arXiv 2405.13698) applied to SGD',
    convention: 'seed', predicted: -1, applies: along('lr', 'coupled'),
  },
  {
    text: 'the AdamW timescale τ = B/(η·c·N) holds across N (c ∝ 1/N)',
    source: 'Wang & Aitchison (2024), arXiv 2405.13698',
    convention: 'timescale', predicted: 0, applies: along('data', 'decoupled'),
  },
  {
    text: 'the AdamW timescale holds across B at fixed N and epochs (c ∝ B)',
    source: 'Wang & Aitchison (2024); Bergsma et al. (2025), arXiv 2505.13738',
    convention: 'timescale', predicted: 0, applies: along('batch', 'decoupled'),
  },
  {
    text: 'the optimal τ_EMA = B/(η·c·D) falls as a power law of samples per parameter, exponent −0.527',
    source: 'Bergsma et al. (2025), "Power Lines", arXiv 2505.13738',
    convention: 'timescale', predicted: -0.527, applies: along('tpp', 'decoupled'),
  },
  {
    text: "Loshchilov & Hutter's normalized decay c_norm = c·√(N·T/B) holds across the number of epochs (c ∝ 1/√T)",
    source: 'Loshchilov & Hutter (2019), arXiv 1711.05101 §B.1',
    convention: 'normalized', predicted: 0, applies: along('epochs', 'decoupled'),
  },
  {
    text: "with muP (MuAdamW) the optimal weight decay transfers across width",
    source: 'Yang et al., muP (microsoft/mup MuAdamW)',
    convention: 'mup-adamw', predicted: 0, applies: along('width', 'decoupled', isMup),
  },
  {
    text: 'plain AdamW c holds across width',
    source: 'common practice (one weight_decay for every model size)',
    convention: 'pytorch-adamw', predicted: 0, applies: along('width', 'decoupled', (n) => !isMup(n)),
  },
];

/** An interval wider than this (octaves per doubling) tests nothing. */
export const UNTESTED_WIDTH = 2;

export function claimResults(a: AxisAnalysis): ClaimResult[] {
  return CLAIMS.filter((c) => c.applies(a)).flatMap((claim) => {
    const movement = a.movements.find((m) => m.convention === claim.convention);
    if (!movement) return [];
    const [lo, hi] = movement.ci;
    const outcome: ClaimOutcome = !(hi - lo <= UNTESTED_WIDTH) ? 'untested' : lo <= claim.predicted && claim.predicted <= hi ? 'holds' : 'fails';
    return [{ claim, movement, outcome }];
  });
}
