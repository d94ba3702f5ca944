// The training both apps of test/package/pack.test.ts run (node-app.mjs under Node, browser-app.mjs
// bundled for Chromium), through `ridgeline` only: a 784-32-10 MLP, STEPS steps of 64 rows of the
// embedded sample, then the model saved to bytes and loaded back.
import { Trainer, evaluate, loadModelBytes, mlpSpec, regularizationTerm, take } from 'ridgeline';

export const STEPS = 8;
/** Leading weights of dense1 reported for the cross-backend comparison. */
const REPORTED_WEIGHTS = 4096;

export async function trainAndReload(backend, train, test) {
  const trainer = new Trainer({
    model: mlpSpec(784, [32], 10),
    optimizer: { name: 'momentum', schedule: { type: 'constant', lr: 0.05 }, momentum: 0.9 },
    regularization: [regularizationTerm('sklearn-mlp:alpha=0.0128', { batch: 64 })],
    batchSize: 64, epochs: 1, seed: 1,
  }, backend, take(train, 64 * STEPS));
  const losses = [];
  await trainer.fit({ onStep: (_step, _steps, loss) => losses.push(loss) });
  const bytes = trainer.save({ note: 'packed' });
  const reloaded = loadModelBytes(bytes, backend);
  return {
    bytes,
    reloaded,
    report: {
      backend: backend.name, steps: trainer.step, losses, bytes: bytes.length, metadata: reloaded.metadata,
      accuracy: trainer.evaluate(test).accuracy, reloadedAccuracy: evaluate(reloaded.model, test).accuracy,
      weights: Array.from(trainer.model.params[0].value.subarray(0, REPORTED_WEIGHTS)),
    },
  };
}
