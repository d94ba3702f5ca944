// The page that trains on its own main thread (test/package/pack.test.ts).
import { failure, run } from './browser-app.mjs';

run().then((result) => { window.__ridgelineResult = result; }, (e) => { window.__ridgelineResult = failure(e); });
