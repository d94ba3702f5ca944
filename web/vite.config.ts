/**
 * The playground (`npm run web`, `npm run web:build`): a static site in web/dist that runs
 * ridgeline in the page, offline, on the wasm backend in Web Workers.
 *
 * Two wasm threads need SharedArrayBuffer, hence a cross-origin-isolated page: the dev and
 * preview servers send COOP/COEP (a static host must send the same two headers; without them
 * the page runs on one thread). Assets are never inlined, so the page's requests are plain
 * same-origin files.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { studiesPlugin } from './studies-plugin.js';

const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
const REPO = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [studiesPlugin(fileURLToPath(new URL('../docs/studies/', import.meta.url)))],
  resolve: {
    // The report's plots (src/report/plots.ts) render into linkedom's DOM in Node; the page has a real one.
    alias: { linkedom: fileURLToPath(new URL('./src/browser-dom.ts', import.meta.url)) },
  },
  worker: { format: 'es' },
  build: { outDir: 'dist', emptyOutDir: true, assetsInlineLimit: 0, target: 'es2022', chunkSizeWarningLimit: 2048 },
  server: { headers: ISOLATION, host: 'localhost', fs: { allow: [REPO] } },
  preview: { headers: ISOLATION, host: 'localhost' },
});
