/** The playground's views, one per tab; each is built the first time it is shown. */
import { convertView } from './convert-view.js';
import { evidenceView } from './evidence-view.js';
import { whyView } from './why-view.js';
import { trainView } from './train-view.js';
import { transferView } from './transfer-view.js';
import { maxThreads } from './backend.js';

const VIEWS: Record<string, (root: HTMLElement) => void | Promise<void>> = {
  convert: convertView, train: trainView, transfer: transferView, evidence: evidenceView, why: whyView,
};
const built = new Set<string>();

function show(name: string): void {
  if (!(name in VIEWS)) name = 'convert';
  for (const tab of document.querySelectorAll<HTMLButtonElement>('nav [role="tab"]')) {
    const on = tab.dataset.view === name;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    document.getElementById(tab.dataset.view!)!.hidden = !on;
  }
  if (!built.has(name)) {
    built.add(name);
    const root = document.getElementById(name)!;
    Promise.resolve(VIEWS[name](root)).then(() => root.setAttribute('data-ready', ''), (e: unknown) => {
      console.error(e);
      root.append(String(e));
    });
  }
}

const tabs = [...document.querySelectorAll<HTMLButtonElement>('nav [role="tab"]')];
for (const [i, tab] of tabs.entries()) {
  tab.addEventListener('click', () => { history.replaceState(null, '', `#${tab.dataset.view}`); show(tab.dataset.view!); });
  // Arrow keys move between tabs (the WAI-ARIA tabs pattern); Tab moves into the panel.
  tab.addEventListener('keydown', (e) => {
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (!step) return;
    const next = tabs[(i + step + tabs.length) % tabs.length];
    next.focus();
    next.click();
  });
}
window.addEventListener('hashchange', () => show(location.hash.slice(1)));
document.getElementById('backend-note')!.textContent = `training runs in Web Workers on the wasm backend, ${maxThreads()} thread${maxThreads() === 1 ? '' : 's'} per run` +
  (globalThis.crossOriginIsolated ? '' : ' (this page is not cross-origin isolated: serve it with COOP/COEP headers for 2)');
show(location.hash.slice(1));
