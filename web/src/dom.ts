/** A few lines of DOM building, so the views read as markup. */
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(typeof c === 'number' ? String(c) : c);
  return e;
}

/** A labelled form control: the label wraps it, so every control has its accessible name. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement, className?: string): HTMLLabelElement {
  return control instanceof HTMLInputElement && control.type === 'checkbox'
    ? h('label', { class: 'check' }, control, label)
    : h('label', className ? { class: className } : {}, label, control);
}

export function numberInput(id: string, value: number, attrs: Attrs = {}): HTMLInputElement {
  return h('input', { id, type: 'number', value, step: 'any', ...attrs });
}

export function select(id: string, options: readonly (string | [string, string])[], value: string): HTMLSelectElement {
  const s = h('select', { id }, ...options.map((o) => {
    const [v, text] = typeof o === 'string' ? [o, o] : o;
    return h('option', { value: v }, text);
  }));
  s.value = value;
  return s;
}

/**
 * SVG made by Plot or the report's plots, in a figure. A plot named by its <title> or
 * aria-label is one image (role img); Plot also labels its mark groups, which ARIA does not
 * allow on a plain <g> and which an image's parts do not need, so those labels are dropped. An
 * SVG without a name (a legend's swatch, a plot inside a named figure) is hidden from
 * assistive technology: the name around it says what it shows.
 */
export function svgFigure(svg: string | SVGElement | HTMLElement, label?: string): HTMLElement {
  const fig = h('figure', label ? { 'data-plot': label } : {});
  if (typeof svg === 'string') fig.innerHTML = svg;
  else fig.append(svg);
  for (const root of fig.querySelectorAll('svg')) {
    for (const part of root.querySelectorAll('[aria-label]')) part.removeAttribute('aria-label');
    const named = root.hasAttribute('aria-label') || root.querySelector(':scope > title') !== null;
    root.setAttribute(named ? 'role' : 'aria-hidden', named ? 'img' : 'true');
  }
  return fig;
}

/** Answer segments (src/report/answer.ts): words, and names set as code. */
export function segments(parts: readonly (string | { code: string })[]): HTMLParagraphElement {
  return h('p', {}, ...parts.map((s) => (typeof s === 'string' ? s : h('code', {}, s.code))));
}
