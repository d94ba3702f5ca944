// A library user's Node program, run by test/package/pack.test.ts in a scratch project that
// installed the packed tarball: only the public entry points, `ridgeline` and `ridgeline/node`.
// For each backend named in argv it trains (train-steps.mjs), saves the model to a file and
// loads it back, and it prints one JSON line for the test.
import { evaluate, selectBackend } from 'ridgeline';
import { atomicWriteFile, loadModel, loadNativeBackend, loadSample } from 'ridgeline/node';
import { trainAndReload } from './train-steps.mjs';

const { train, test } = await loadSample();
const runs = [];
for (const name of process.argv.slice(2)) {
  const backend = await selectBackend(name);
  const { bytes, report } = await trainAndReload(backend, train, test);
  const path = `${process.cwd()}/${name}.safetensors`;
  await atomicWriteFile(path, bytes);
  const fromFile = await loadModel(path, backend);
  runs.push({ ...report, fileAccuracy: evaluate(fromFile.model, test).accuracy });
}
const auto = await selectBackend('auto');
process.stdout.write(JSON.stringify({ auto: auto.name, native: loadNativeBackend().name, runs }) + '\n');
