// The module Worker that trains for worker-page.mjs (test/package/pack.test.ts); the wasm
// backend's second thread is then a nested worker.
import { failure, run } from './browser-app.mjs';

run().then((result) => postMessage(result), (e) => postMessage(failure(e)));
