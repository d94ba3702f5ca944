// The page that trains in a module Worker (train-worker.mjs) and publishes what it posts.
const worker = new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module' });
worker.addEventListener('message', (e) => { window.__ridgelineResult = e.data; });
worker.addEventListener('error', (e) => { window.__ridgelineResult = { error: `worker error: ${e.message ?? 'failed to load'}` }; });
