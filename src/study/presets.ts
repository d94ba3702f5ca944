/**
 * The presets: one study per question, in two regimes. `embedded` runs in about a minute on
 * the embedded sample (the default preset, the tests); `full` is sized for all of
 * Fashion-MNIST on the native backend, at most 90 minutes per preset on 2 cores with
 * `--jobs 2` (docs/study.md gives the measured times). Each preset changes one thing of its
 * regime's base; the report prints what it held fixed.
 */
import { ConfigError } from '../errors.js';
import type { Axis, Grid, StudyConfig } from './config.js';

interface Regime {
  base: StudyConfig['base'];
  seeds: number[];
  lambda: Grid;
  decay: Grid;
  epochs: number;
  widths: number[];
  depths: number[];
  batches: number[];
  sizes: number[];
  /** The data axis' λ grid: the optimum moves by about an octave per doubling of N. */
  dataLambda: Grid;
  /** The step budget of the step-matched data axis (≈ `epochs` epochs of the base trainSize). */
  dataSteps: number;
  epochsAxis: number[];
  lrs: number[];
  /** A small CNN with one BatchNorm per conv block, its width multipliers, and its budget. */
  cnn: { arch: string; multipliers: number[]; trainSize: number; epochs: number; validation: number };
  /** muP's base width (m = width / base). */
  mupBase: number;
  /** AdamW across width × rows (samples per parameter), and its budget. */
  tpp: { values: string[]; epochs: number };
}

/**
 * The full-data regime where λ matters. On all 50 000 training images a 256-256 MLP barely
 * overfits in 10 epochs: the first edition's validation CE was flat from λ_E = 1e-6 to 1e-4.
 * On 7 500 of them for 40 epochs the penalty decides (final validation CE 0.56 at λ_E = 1e-5
 * against 0.45 at 1e-3). Cosine decay to 0 over the budget, as practitioners train, so the
 * last epoch is not a snapshot of constant-η noise. Six seeds, each drawing its own 7 500.
 */
const FULL: Regime = {
  base: {
    hidden: [256, 256], optimizer: 'momentum', lr: 0.05, adamLr: 1e-3, momentum: 0.9, batch: 128,
    trainSize: 7500, validation: 10000, schedule: 'cosine', lrScaling: 'none',
  },
  seeds: [1, 2, 3, 4, 5, 6],
  // Up to 1e-2 only: the first edition put every optimum near 1e-3, and at λ_E = 0.1 the
  // weights shrink into subnormal floats, which run 5–10× slower on x86 (measured: width 128,
  // 33.5 s at 0.1 against 6.1 s at 0.01). An optimum at the top edge extends the grid.
  lambda: { min: 1e-5, max: 1e-2, points: 7 },
  decay: { min: 1e-3, max: 10, points: 9 },
  epochs: 40,
  widths: [64, 128, 256, 512, 1024],
  depths: [1, 2, 3, 4],
  batches: [32, 64, 128, 256, 512],
  sizes: [3125, 6250, 12500, 25000, 50000],
  dataLambda: { min: 1e-6, max: 1e-2, points: 9 },
  dataSteps: 2400,
  epochsAxis: [10, 20, 40, 80],
  lrs: [0.0125, 0.025, 0.05, 0.1, 0.2],
  // Convolutions on 2 cores are slow at these small channel counts (measured, one thread under
  // load: 47 s, 190 s and 406 s per trial at ×0.5, ×1, ×2 on 5 000 rows for 20 epochs with 10 000
  // validation rows), so the CNN trains on 2 000 rows for 10 epochs and validates on 5 000.
  cnn: { arch: 'conv:8x3p1,bn,relu,pool:2,conv:16x3p1,bn,relu,pool:2,flatten,dense:10', multipliers: [0.5, 1, 2, 4], trainSize: 2000, epochs: 10, validation: 5000 },
  mupBase: 64,
  tpp: { values: ['128x3125', '128x12500', '128x50000', '256x3125', '256x12500', '256x50000', '512x3125', '512x12500', '512x50000'], epochs: 20 },
};

/** The embedded sample (3 500 training rows after 500 for validation): minutes on any backend. */
const EMBEDDED: Regime = {
  base: {
    hidden: [64], optimizer: 'momentum', lr: 0.05, adamLr: 1e-3, momentum: 0.9, batch: 64,
    trainSize: 0, validation: 500, schedule: 'cosine', lrScaling: 'none',
  },
  seeds: [1, 2],
  lambda: { min: 1e-5, max: 1e-2, points: 7 },
  decay: { min: 3e-3, max: 3, points: 7 },
  // A few epochs barely overfit 3 500 images; 15 make λ matter and keep the default study short.
  epochs: 15,
  widths: [16, 32, 64, 128],
  depths: [1, 2, 3],
  batches: [16, 32, 64, 128],
  sizes: [450, 900, 1800, 3500],
  dataLambda: { min: 1e-6, max: 1e-2, points: 9 },
  dataSteps: 800,
  epochsAxis: [5, 10, 20],
  lrs: [0.0125, 0.025, 0.05, 0.1],
  cnn: { arch: 'conv:4x3p1,bn,relu,pool:2,conv:8x3p1,bn,relu,pool:2,flatten,dense:10', multipliers: [0.5, 1, 2], trainSize: 0, epochs: 5, validation: 500 },
  mupBase: 16,
  tpp: { values: ['16x900', '16x3500', '64x900', '64x3500'], epochs: 10 },
};

function make(r: Regime, axis: Axis, values: StudyConfig['values'], extra: Partial<StudyConfig> = {}, baseExtra: Partial<StudyConfig['base']> = {}): StudyConfig {
  return {
    name: axis, axis, values, seeds: r.seeds, lambda: r.lambda, decay: r.decay,
    refine: { octaves: [-1, -0.5, 0.5, 1], extend: 2 }, metric: 'final-ce',
    budget: { epochs: r.epochs }, ...extra, base: { ...r.base, ...baseExtra },
  };
}

const adamw = (r: Regime) => ({ optimizer: 'adamw' as const, lr: r.base.adamLr });

const PRESETS: Record<string, (r: Regime) => StudyConfig> = {
  default: (r) => make(r, 'width', r.widths.slice(0, 4)),
  width: (r) => make(r, 'width', r.widths),
  'cnn-width': (r) => make(r, 'width', r.cnn.multipliers, { name: 'cnn-width', budget: { epochs: r.cnn.epochs } },
    { hidden: undefined, arch: r.cnn.arch, trainSize: r.cnn.trainSize, validation: r.cnn.validation }),
  depth: (r) => make(r, 'depth', r.depths),
  batch: (r) => make(r, 'batch', r.batches),
  // η ∝ B keeps SGD's noise scale η/B: the batch axis without its largest confound.
  'batch-scaled': (r) => make(r, 'batch', r.batches, { name: 'batch-scaled' }, { lrScaling: 'linear' }),
  data: (r) => make(r, 'data', r.sizes, { lambda: r.dataLambda }),
  'data-steps': (r) => make(r, 'data', r.sizes, { name: 'data-steps', lambda: r.dataLambda, budget: { steps: r.dataSteps } }),
  // AdamW, for Loshchilov & Hutter's normalized decay c = c_norm·√(B/(N·T)): c should fall as 1/√T.
  epochs: (r) => make(r, 'epochs', r.epochsAxis, {}, adamw(r)),
  lr: (r) => make(r, 'lr', r.lrs),
  optimizer: (r) => make(r, 'optimizer', ['sgd', 'momentum', 'adam', 'adamw']),
  // With BN after a layer its weights' scale no longer matters to the loss: λ acts on the
  // effective learning rate instead of capacity.
  norm: (r) => make(r, 'norm', ['none', 'batchnorm', 'layernorm']),
  mup: (r) => make(r, 'width', r.widths, { name: 'mup' }, { ...adamw(r), mupBaseWidth: r.mupBase }),
  'adamw-batch': (r) => make(r, 'batch', r.batches, { name: 'adamw-batch' }, adamw(r)),
  'adamw-data': (r) => make(r, 'data', r.sizes, { name: 'adamw-data' }, adamw(r)),
  'adamw-tpp': (r) => make(r, 'tpp', r.tpp.values, { name: 'adamw-tpp', budget: { epochs: r.tpp.epochs } }, adamw(r)),
};

/** Every preset name; `all` runs every one but `default`. */
export const PRESET_NAMES: readonly string[] = [...Object.keys(PRESETS), 'all'];

/** Presets by name, in the full-data regime or the embedded sample's. */
export function preset(name: string, full: boolean): StudyConfig[] {
  const r = full ? FULL : EMBEDDED;
  if (name === 'all') return Object.keys(PRESETS).filter((k) => k !== 'default').map((k) => PRESETS[k](r));
  const p = PRESETS[name];
  if (!p) throw new ConfigError(`unknown preset '${name}' (known: ${PRESET_NAMES.join(', ')})`);
  return [p(r)];
}
