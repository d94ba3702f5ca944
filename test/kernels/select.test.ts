/**
 * Backend selection from the library's two entries: `ridgeline` under Node (src/index.node.ts)
 * picks as the CLI does (native, then wasm, then js) and reports what `auto` passed over; the
 * browser entry (src/index.ts) never offers native and, where no Worker can start (here: Node
 * has no Web Worker), runs wasm on one thread and says so. Both entries export the same names,
 * so code written against one type-checks and runs against the other.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import * as browserEntry from '../../src/index.js';
import * as nodeEntry from '../../src/index.node.js';
import { jsBackend } from '../../src/kernels/js/index.js';
import type { WasmBackend } from '../../src/kernels/wasm/index.js';

/** Runs `fn` with RIDGELINE_NO_NATIVE=1, restoring the variable after. */
async function withoutNative<T>(fn: () => Promise<T>): Promise<T> {
  const saved = process.env.RIDGELINE_NO_NATIVE;
  process.env.RIDGELINE_NO_NATIVE = '1';
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.RIDGELINE_NO_NATIVE;
    else process.env.RIDGELINE_NO_NATIVE = saved;
  }
}

test('both entries export the same names; selectBackend and loadBackends differ by platform only', () => {
  assert.deepEqual(Object.keys(browserEntry).sort(), Object.keys(nodeEntry).sort());
  assert.notEqual(browserEntry.selectBackend, nodeEntry.selectBackend);
  for (const name of ['Trainer', 'selectBackend', 'loadBackends', 'loadWasmBackend', 'webWorkerSpawner', 'fetchSample', 'idxDatasetsFromBytes', 'loadModelBytes', 'BACKEND_CHOICES']) {
    assert.ok(name in nodeEntry, `ridgeline does not export ${name}`);
  }
});

test('Node: auto is native; native can be turned off, and auto then falls back to wasm with a notice; js is the reference', async () => {
  const auto = await nodeEntry.selectBackend('auto');
  assert.equal(auto.name, 'native');
  assert.equal(await nodeEntry.selectBackend('js'), jsBackend);
  assert.deepEqual((await nodeEntry.loadBackends()).map((r) => [r.name, 'backend' in r]), [['native', true], ['wasm', true], ['js', true]]);
  await withoutNative(async () => {
    const notices: string[] = [];
    const fallback = await nodeEntry.selectBackend('auto', { onNotice: (n) => notices.push(n), wasm: { threads: 1 } });
    assert.equal(fallback.name, 'wasm');
    assert.equal((fallback as WasmBackend).threads, 1, 'wasm options reach the loader');
    assert.deepEqual(notices, ['native backend unavailable (the native backend is disabled by RIDGELINE_NO_NATIVE); falling back']);
    await assert.rejects(nodeEntry.selectBackend('native'),
      (e: unknown) => e instanceof ConfigError && e.message === 'the native backend is not available: the native backend is disabled by RIDGELINE_NO_NATIVE');
  });
  await assert.rejects(nodeEntry.selectBackend('gpu' as never), (e: unknown) => e instanceof ConfigError && e.message === 'backend must be one of auto, native, wasm, js, got "gpu"');
});

test('browser entry: native is not offered; without a Worker the wasm backend runs on one thread and says why, unless threads were asked for', async () => {
  await assert.rejects(browserEntry.selectBackend('native'), (e: unknown) => e instanceof ConfigError && /needs Node/.test(e.message));
  assert.deepEqual((await browserEntry.loadBackends()).map((r) => r.name), ['wasm', 'js']);
  const notices: string[] = [];
  const wasm = await browserEntry.selectBackend('auto', { onNotice: (n) => notices.push(n) }) as WasmBackend;
  assert.equal(wasm.name, 'wasm');
  assert.equal(wasm.threads, 1);
  assert.equal(notices.length, 1);
  assert.match(notices[0], /^wasm threads unavailable \(.*Worker is not defined\); running on one thread$/);
  await assert.rejects(browserEntry.selectBackend('wasm', { wasm: { threads: 2 } }), (e: unknown) => e instanceof ConfigError && /Worker is not defined/.test(e.message));
});
