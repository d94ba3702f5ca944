/**
 * Why? The seed objective, Bengio's B/N bookkeeping and AdamW's timescale, with every formula
 * taken from the conventions registry and every number from the library's `convert` (so this
 * panel cannot drift from what the code applies).
 */
import { CONVENTIONS, findConvention, parseCoefficient } from '../../src/regularization/conventions.js';
import { convert } from '../../src/regularization/convert.js';
import { formatShrink } from '../../src/regularization/shrink.js';
import { BENGIO_WHY } from '../../src/report/answer.js';
import { h, segments } from './dom.js';

const fmt = (v: number | null) => (v === null ? '—' : String(Number(v.toPrecision(4))));
const formula = (id: string) => h('span', { class: 'formula' }, findConvention(id).formula);

export function whyView(root: HTMLElement): void {
  const seed = findConvention('seed');
  // A worked example at the README's context: PyTorch SGD at B = 128, N = 50 000, η = 0.1.
  const ctx = { optimizer: 'sgd' as const, lr: 0.1, batch: 128, n: 50000, momentum: 0 };
  const sgd = convert(parseCoefficient('pytorch-sgd:weight_decay=5e-4', 'seed', 'example'), ctx);
  const value = (id: string) => sgd.results.find((r) => r.convention === id)?.value ?? null;
  const adamCtx = { optimizer: 'adamw' as const, lr: 1e-3, batch: 128, n: 50000 };
  const adamw = convert(parseCoefficient('pytorch-adamw:weight_decay=0.01', 'seed', 'example'), adamCtx);
  const tau = adamw.results.find((r) => r.convention === 'timescale')?.value ?? null;
  root.append(
    h('h2', {}, 'Why the scale of λ matters'),
    h('h3', {}, 'The seed objective'),
    h('p', {}, 'ridgeline minimizes ', h('span', { class: 'formula', id: 'why-objective' }, seed.framework.replace(/^.*?(E = .*)$/, '$1')),
      ': the mean cross-entropy over the N training examples plus λ_E times the sum of squared weights. ',
      'Its gradient adds 2λ_E·w to each decayed weight, so one plain SGD step removes 2η·λ_E of it: ',
      `with PyTorch's weight_decay = 5e-4 (${findConvention('pytorch-sgd').formula}) at η = 0.1 that is λ_E = ${fmt(sgd.canonical.value)} and `,
      h('span', { id: 'why-shrink' }, formatShrink(sgd.shrink!, sgd.stepsPerEpoch)), '.'),
    h('p', {}, 'Frameworks write the same penalty in other units. The coupled ones, each as λ_E in terms of its own coefficient c:'),
    h('table', { id: 'why-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'convention'), h('th', {}, 'λ_E in terms of c'), h('th', {}, `c for λ_E = ${fmt(sgd.canonical.value)} (B = 128, N = 50 000)`))),
      h('tbody', {}, ...CONVENTIONS.filter((c) => c.kind === 'coupled' && c.per !== 'tensor').map((c) => h('tr', {},
        h('td', {}, h('code', {}, `${c.id}:${c.param}`)), h('td', {}, c.formula),
        h('td', { class: 'num' }, c.id === 'pytorch-sgd' ? '5e-4 (given)' : c.id === 'per-weight' ? 'needs P' : fmt(value(c.id))))))),
    h('h3', {}, 'Bengio\'s B/N bookkeeping'),
    segments(BENGIO_WHY),
    h('p', {}, 'In the registry: ', formula('bengio'), ' — a fixed c means λ_E falls as 1/N. Whether λ_E or c should stay fixed as N grows is a measurement (the data studies), not a convention.'),
    h('h3', {}, 'AdamW\'s timescale'),
    h('p', {}, 'AdamW shrinks each decayed weight by ', formula('pytorch-adamw'), ' per step, outside Adam\'s moments, so its c is not a λ_E: ',
      'under Adam a coupled penalty is divided by √v̂ and has no fixed δ. Wang & Aitchison (2024) read c as a timescale: ', formula('timescale'), '. ',
      `PyTorch's default c = 0.01 at η = 1e-3, B = 128, N = 50 000 is τ = ${fmt(tau)} epochs: the weights forget their past over that many epochs, `,
      'so c that keeps τ fixed must change with B, N and η.'),
    h('p', { class: 'note' }, 'Every formula above is the one ridgeline applies (src/regularization/conventions.ts); every number is its convert().'),
  );
}
