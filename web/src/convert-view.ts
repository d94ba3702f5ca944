/**
 * Convert: one coefficient in every other convention, with δ per step, the shrink per epoch
 * and which equivalences are exact. Every number is the library's `convert`
 * (src/regularization/convert.ts), formatted as `ridgeline convert` prints it.
 */
import { CONVENTIONS, parseCoefficient } from '../../src/regularization/conventions.js';
import { convert, type ConversionReport, type ConvertOptimizer } from '../../src/regularization/convert.js';
import { formatShrink } from '../../src/regularization/shrink.js';
import { OPTIMIZERS } from '../../src/optim/recipes.js';
import { field, h, numberInput, select } from './dom.js';

const fmt = (v: number) => String(Number(v.toPrecision(6)));

export function convertView(root: HTMLElement): void {
  const convention = select('cv-convention', CONVENTIONS.map((c) => [c.id, `${c.id}:${c.param} — ${c.framework}`] as [string, string]), 'pytorch-sgd');
  const value = numberInput('cv-value', 5e-4, { min: 0 });
  const optimizer = select('cv-optimizer', OPTIMIZERS, 'sgd');
  const batch = numberInput('cv-batch', 128, { min: 1, step: 1 });
  const n = numberInput('cv-n', 50000, { min: 1, step: 1 });
  const lr = numberInput('cv-lr', 0.1, { min: 0 });
  const momentum = numberInput('cv-momentum', 0.9, { min: 0, max: 0.999 });
  const epochs = numberInput('cv-epochs', 10, { min: 1, step: 1 });
  const params = numberInput('cv-params', 268800, { min: 1, step: 1 });
  const out = h('div', { id: 'cv-output', 'aria-live': 'polite' });
  const form = h('form', { class: 'controls', id: 'cv-form' },
    field('convention', convention, 'wide'), field('coefficient c', value), field('optimizer', optimizer),
    field('batch size B', batch), field('training examples N', n), field('learning rate η (peak)', lr),
    field('momentum μ', momentum), field('epochs T', epochs), field('decayed parameters P', params));
  form.addEventListener('submit', (e) => e.preventDefault());
  root.append(
    h('h2', {}, 'Convert a coefficient between frameworks'),
    h('p', { class: 'note' }, 'The same penalty in every framework\'s units, from ', h('code', {}, 'convert'), ' in ridgeline\'s library ',
      '(what ', h('code', {}, 'ridgeline convert'), ' prints). μ applies to momentum and nesterov.'),
    form, out);

  const update = () => {
    const opt = optimizer.value as ConvertOptimizer;
    const heavyBall = opt === 'momentum' || opt === 'nesterov';
    momentum.disabled = !heavyBall;
    out.replaceChildren();
    let report: ConversionReport;
    try {
      const c = CONVENTIONS.find((x) => x.id === convention.value)!;
      const given = parseCoefficient(`${c.id}:${c.param}=${value.value}`, 'seed', 'coefficient');
      const num = (i: HTMLInputElement) => (i.value.trim() === '' ? undefined : Number(i.value));
      report = convert(given, {
        optimizer: opt, lr: num(lr), batch: num(batch), n: num(n), params: num(params), epochs: num(epochs),
        momentum: heavyBall ? num(momentum) : 0,
      });
    } catch (e) {
      out.append(h('p', { class: 'error', role: 'alert' }, (e as Error).message));
      return;
    }
    out.append(renderReport(report, heavyBall ? Number(momentum.value) : undefined));
  };
  form.addEventListener('input', update);
  form.addEventListener('change', update);
  update();
}

function renderReport(r: ConversionReport, momentum: number | undefined): HTMLElement {
  const exactClass = (x: string | null) => (x === 'exact' ? 'exact' : x === null ? 'none' : 'approx');
  return h('div', {},
    h('p', {}, h('strong', {}, r.from.text), ` [${r.from.kind}] → ${r.canonical.unit} = `,
      h('strong', { id: 'cv-canonical', 'data-value': r.canonical.value }, fmt(r.canonical.value))),
    h('p', { id: 'cv-shrink', 'data-delta': r.deltaPerStep ?? '', 'data-epoch-shrink': r.shrinkPerEpoch ?? '' },
      r.shrink === null ? 'δ per step: undefined (give η)' : formatShrink(r.shrink, r.stepsPerEpoch, momentum)),
    h('p', { class: 'note' }, r.stepsPerEpoch === null ? '' : `${r.stepsPerEpoch} steps per epoch (⌈N/B⌉).`),
    h('table', { id: 'cv-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'convention'), h('th', {}, 'kind'), h('th', {}, 'value'), h('th', {}, 'formula'), h('th', {}, 'equivalence'), h('th', {}, 'notes'))),
      h('tbody', {}, ...r.results.map((x) => h('tr', { 'data-convention': x.convention },
        h('td', {}, h('code', {}, `${x.convention}:${x.param}`)),
        h('td', {}, x.kind),
        h('td', { class: 'num', 'data-value': x.value ?? '' }, x.value === null ? '—' : fmt(x.value)),
        h('td', {}, x.formula),
        h('td', { class: exactClass(x.exactness) }, x.exactness ?? 'no equivalent'),
        h('td', { class: 'note' }, x.notes.join('; ')))))));
}
