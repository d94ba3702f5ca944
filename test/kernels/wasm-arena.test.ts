import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Arena, ARENA_ALIGN } from '../../src/kernels/wasm/arena.js';
import { loadWasmBackend } from '../../src/kernels/wasm/index.js';
import { floats } from '../../src/kernels/backend.js';
import { jsBackend } from '../../src/kernels/js/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('arena: first fit, blocks aligned, neighbours merged on release, the top given back', () => {
  const grown: number[] = [];
  const a = new Arena(128, (end) => grown.push(end));
  const x = a.alloc(10), y = a.alloc(100), z = a.alloc(64);
  assert.deepEqual([x, y, z], [128, 192, 320]);
  assert.deepEqual(grown, [192, 320, 384], 'the memory is grown to each new top');
  assert.equal(a.used, 256);
  a.release(x, 10);
  assert.deepEqual(a.freeBlocks(), [{ off: 128, bytes: 64 }]);
  assert.equal(a.alloc(64), 128, 'a freed block of the right size is reused');
  a.release(128, 64);
  a.release(y, 100); // merges with the block before it
  assert.deepEqual(a.freeBlocks(), [{ off: 128, bytes: 192 }]);
  assert.equal(a.alloc(50), 128, 'first fit splits a larger block');
  assert.deepEqual(a.freeBlocks(), [{ off: 192, bytes: 128 }]);
  a.release(z, 64); // the top block: the bump pointer comes down past the free block too
  assert.deepEqual(a.freeBlocks(), []);
  assert.equal(a.end, 192);
  assert.equal(a.used, 64);
  a.release(128, 64);
  assert.throws(() => a.release(128, 64), /released twice/);
  assert.throws(() => new Arena(100, () => {}), new RegExp(`${ARENA_ALIGN}-byte aligned`));
});

test('wasm alloc: zeroed buffers in wasm memory that kernels use in place; valid across memory growth; none on an owned memory', async () => {
  const b = await loadWasmBackend({ threads: 1 });
  assert.ok(b.alloc, 'one thread over a shared memory has alloc');
  const x = b.alloc!(1000);
  assert.ok(x.buffer instanceof SharedArrayBuffer);
  assert.ok(x.every((v) => v === 0));
  x.fill(1.5);
  const big = b.alloc!(8 << 20); // 32 MB: the memory grows, x's view must stay valid
  assert.equal(x.length, 1000);
  assert.equal(x[999], 1.5);
  const y = b.alloc!(1000);
  b.relu(x.map((v, i) => (i % 2 ? -v : v)), y, 1000); // input copied in, output written in place
  assert.equal(y[0], 1.5);
  assert.equal(y[1], 0);
  assert.equal(b.sumSquares(x, 1000), 2250);
  big.fill(0);
  const owned = await loadWasmBackend({ threads: 1, sharedMemory: false });
  assert.equal(owned.alloc, undefined);
  assert.equal(floats(owned, 3).buffer instanceof SharedArrayBuffer, false, 'floats() falls back to a plain array');
  assert.equal(floats(jsBackend, 3).length, 3);
});

test('wasm alloc: buffers nobody holds go back to the arena (no growth over many model builds)', async () => {
  const b = await loadWasmBackend({ threads: 1 });
  const round = () => { for (let i = 0; i < 50; i++) b.alloc!(100_000).fill(1); };
  const settle = async () => {
    for (let i = 0; i < 5; i++) { gc(); await new Promise((r) => setImmediate(r)); }
  };
  round();
  await settle();
  const after1 = b.arenaBytes;
  for (let r = 0; r < 10; r++) { round(); await settle(); }
  assert.ok(b.arenaBytes <= after1 + 50 * 400_128, `arena held ${after1} bytes after one round, ${b.arenaBytes} after eleven`);
  const reused = b.alloc!(100_000);
  assert.ok(reused.every((v) => v === 0), 'a reused block is zeroed');
});
