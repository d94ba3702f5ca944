/**
 * Stands in for linkedom in the page (vite.config.ts aliases it): the report's plots
 * (src/report/plots.ts) build their SVG in a detached document, and a browser has one.
 */
export function parseHTML(_html: string): { document: Document } {
  return { document: document.implementation.createHTMLDocument('') };
}
