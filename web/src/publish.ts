/** What the page exposes for its browser test: each view's latest state, on `window.__ridgelinePlayground`. */
declare global {
  interface Window { __ridgelinePlayground?: Record<string, unknown> }
}

export function publish(name: string, value: unknown): void {
  (window.__ridgelinePlayground ??= {})[name] = value;
}
