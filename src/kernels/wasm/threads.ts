/**
 * GEMM on several threads for the WASM backend: one shared `WebAssembly.Memory`, the same
 * module instantiated on it in the calling thread and in N − 1 workers, and a control block at
 * the start of that memory through which they hand out blocks of C. No Node APIs here: workers
 * are made by an injected `SpawnWasmWorker` (src/kernels/wasm/node.ts for `worker_threads`,
 * `webWorkerSpawner` below for browsers), and the worker side is `runWasmWorker`, which a
 * worker script calls with its first message.
 *
 * Protocol (every field is an Int32 slot of the control block; see wasm/README.md):
 *  - The calling thread writes a job (its kind, its arguments, its number of chunks), resets
 *    DONE, then publishes TICKET = epoch(8 bits) | front(12 bits) | back(12 bits), the chunks
 *    [front, back) still unclaimed, bumps EPOCH and `Atomics.notify`s it. Workers sleep in
 *    `Atomics.wait` on EPOCH (after a short spin, so back-to-back jobs find them awake).
 *  - Two kinds of job: a GEMM, whose chunks are disjoint blocks of C (rows or columns), each
 *    computed with the module's `gemm_part` in the claiming thread's own packing area; and an
 *    optimizer step, whose chunks are contiguous ranges of one parameter (`optimizer_step` on
 *    each range, elementwise, so any cut gives the same bits).
 *  - Every thread, the caller included, claims chunks by compare-exchange on TICKET: the caller
 *    from the front (front + 1), workers from the back (back − 1). The claim is
 *    self-validating: a compare-exchange that succeeds saw the current job with that chunk
 *    unclaimed, so the job's arguments (read after the claim) cannot change until the chunk is
 *    done. A late worker thus never computes with a stale or half-written job. Dynamic claiming
 *    means a descheduled worker (the machine is shared) only delays the chunk it holds; the
 *    caller takes the rest.
 *  - Why two ends: with everyone on time, the caller computes the first part of every job and
 *    the worker the last, so the rows of a weight gradient that a thread computes are the rows
 *    of the optimizer step it runs, and the rows of W that step writes are the rows the next
 *    forward GEMM's chunk reads there. Data moving between cores is what a second thread
 *    costs most on a small VM (the native backend measured it: README.md, "Speed"; native/gemm.c).
 *  - A finished chunk increments DONE (the last one notifies it); the caller waits until
 *    DONE = chunks: a short spin, then `Atomics.wait` where it may block (Node's main thread,
 *    workers), a spin on `Atomics.load` where it may not (a browser's main thread).
 *  - A worker that throws writes ERROR and its message into the block and notifies DONE; a
 *    worker that dies silently is caught by a timeout on the caller's wait (no progress for
 *    `timeoutMs`). Either way the call throws and the backend refuses further work.
 *  - Each C element is computed by one thread, over k in the same blocks as the single-thread
 *    call (only M or N is split, never K), so the result is bit-identical to threads = 1.
 */

/** What the threads need of the module (see wasm/generate.ts and wasm/optimizer.ts). */
export interface ThreadExports {
  gemm_part(ta: number, tb: number, m: number, n: number, k: number, alpha: number, a: number, b: number,
    beta: number, c: number, work: number, r0: number, r1: number, c0: number, c1: number): void;
  optimizer_step(w: number, u: number, n: number, program: number, ops: number, states: number): void;
}

/** A worker as the backend needs it: Node's `worker_threads.Worker` or a browser `Worker`, adapted. */
export interface WasmWorkerHandle {
  postMessage(message: unknown): void;
  /**
   * `onMessage` for every message the worker posts; `onExit` once if it fails to load, throws
   * outside the GEMM loop, or exits (with a one-line reason).
   */
  listen(onMessage: (data: unknown) => void, onExit: (reason: string) => void): void;
  terminate(): void;
}

/** Starts one worker running a script that passes its first message to `runWasmWorker`. */
export type SpawnWasmWorker = () => WasmWorkerHandle;

// Control block: Int32 slots at byte 0 of the shared memory. The three contended words sit on
// their own 64-byte lines.
const EPOCH = 0, TICKET = 16, DONE = 32;
const ERROR = 48, STOP = 49, KIND = 50, CHUNKS = 51, ARGS = 52;
/** A GEMM job's arguments (ALPHA and BETA are float32 slots). */
const TA = ARGS, TB = ARGS + 1, M = ARGS + 2, N = ARGS + 3, K = ARGS + 4, ALPHA = ARGS + 5, A = ARGS + 6, B = ARGS + 7,
  BETA = ARGS + 8, C = ARGS + 9, SPLIT_ROWS = ARGS + 10, CHUNK = ARGS + 11;
/** An optimizer job's: chunk c is [c·SIZE, min(LENGTH, (c + 1)·SIZE)), its state table at TABLES + 4·c·STATES. */
const W = ARGS, U = ARGS + 1, LENGTH = ARGS + 2, PROGRAM = ARGS + 3, OPS = ARGS + 4, TABLES = ARGS + 5, STATES = ARGS + 6,
  SIZE = ARGS + 7;
const GEMM_JOB = 0, OPTIMIZER_JOB = 1;
const MESSAGE = 64, MESSAGE_LENGTH = 190;
/** Bytes the control block takes at the start of the memory. */
export const CONTROL_BYTES = 1024;
/** At most this many chunks per job (12 bits of TICKET). */
const MAX_CHUNKS = 4095;

const ticket = (epoch: number, front: number, back: number) => ((epoch & 0xff) << 24) | (front << 12) | back;
const ticketFront = (t: number) => (t >>> 12) & 0xfff;
const ticketBack = (t: number) => t & 0xfff;

/** The first message a worker gets. */
export interface WasmWorkerInit {
  type: 'ridgeline-wasm-init';
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** 1 … threads − 1 (the calling thread is 0). */
  index: number;
  /** Byte offset of this thread's GEMM packing area. */
  work: number;
  /** µs to spin on EPOCH after a job before sleeping in Atomics.wait. */
  spinMicros: number;
}

/** What a worker posts: 'ready' once instantiated, or why it stopped. */
export type WasmWorkerReply = { type: 'ready'; index: number } | { type: 'error'; index: number; message: string };

/** Computes chunk `chunk` of the published job (its arguments are stable until it is counted done). */
function runChunk(ctl: Int32Array, f32: Float32Array, ex: ThreadExports, work: number, chunk: number): void {
  if (ctl[KIND] === OPTIMIZER_JOB) {
    const start = chunk * ctl[SIZE], end = Math.min(ctl[LENGTH], start + ctl[SIZE]);
    ex.optimizer_step(ctl[W] + 4 * start, ctl[U] + 4 * start, end - start, ctl[PROGRAM], ctl[OPS], ctl[TABLES] + 4 * chunk * ctl[STATES]);
    return;
  }
  const m = ctl[M], n = ctl[N], size = ctl[CHUNK];
  let r0 = 0, r1 = m, c0 = 0, c1 = n;
  if (ctl[SPLIT_ROWS]) { r0 = chunk * size; r1 = Math.min(m, r0 + size); } else { c0 = chunk * size; c1 = Math.min(n, c0 + size); }
  ex.gemm_part(ctl[TA], ctl[TB], m, n, ctl[K], f32[ALPHA], ctl[A], ctl[B], f32[BETA], ctl[C], work, r0, r1, c0, c1);
}

/**
 * Claims and computes chunks of the published job until none is left, from the front (the
 * calling thread) or from the back (workers); returns how many it did.
 */
function runChunks(ctl: Int32Array, f32: Float32Array, ex: ThreadExports, work: number, fromBack: boolean): number {
  let done = 0;
  for (;;) {
    const t = Atomics.load(ctl, TICKET);
    const front = ticketFront(t), back = ticketBack(t);
    if (front >= back) return done;
    if (Atomics.compareExchange(ctl, TICKET, t, fromBack ? t - 1 : t + (1 << 12)) !== t) continue;
    // The chunk is ours: the job's arguments stay put until DONE reaches CHUNKS, so read
    // CHUNKS before adding to DONE (after the last add the caller may publish the next job).
    const chunks = ctl[CHUNKS];
    runChunk(ctl, f32, ex, work, fromBack ? back - 1 : front);
    done++;
    if (Atomics.add(ctl, DONE, 1) + 1 === chunks) Atomics.notify(ctl, DONE);
  }
}

function writeMessage(ctl: Int32Array, text: string): void {
  const n = Math.min(text.length, MESSAGE_LENGTH - 1);
  for (let i = 0; i < n; i++) ctl[MESSAGE + i] = text.charCodeAt(i);
  ctl[MESSAGE + n] = 0;
}

function readMessage(ctl: Int32Array): string {
  let s = '';
  for (let i = 0; i < MESSAGE_LENGTH && ctl[MESSAGE + i] !== 0; i++) s += String.fromCharCode(ctl[MESSAGE + i]);
  return s;
}

/**
 * The worker side: instantiates the module on the shared memory, posts 'ready', then serves
 * jobs until the backend is disposed (or terminates the worker). It blocks its thread
 * (Atomics.wait), so call it from the worker's message handler and never from a page's main
 * thread.
 */
export function runWasmWorker(init: WasmWorkerInit, post: (reply: WasmWorkerReply) => void): void {
  const { index } = init;
  let ex: ThreadExports;
  try {
    const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
    ex = instance.exports as unknown as ThreadExports;
  } catch (e) {
    post({ type: 'error', index, message: `worker ${index} could not instantiate the module: ${(e as Error).message}` });
    return;
  }
  const ctl = new Int32Array(init.memory.buffer, 0, CONTROL_BYTES / 4);
  const f32 = new Float32Array(init.memory.buffer, 0, CONTROL_BYTES / 4);
  post({ type: 'ready', index });
  let seen = Atomics.load(ctl, EPOCH);
  for (;;) {
    if (Atomics.load(ctl, STOP)) return;
    try {
      runChunks(ctl, f32, ex, init.work, true);
    } catch (e) {
      const what = ctl[KIND] === OPTIMIZER_JOB ? 'the optimizer step' : 'gemm';
      const message = `worker thread ${index} failed in ${what}: ${(e as Error)?.message ?? String(e)}`;
      writeMessage(ctl, message);
      Atomics.store(ctl, ERROR, index);
      Atomics.notify(ctl, DONE);
      post({ type: 'error', index, message });
      return;
    }
    // Idle: spin a little (the next job of a training step usually follows within µs), then sleep.
    if (Atomics.load(ctl, EPOCH) === seen && init.spinMicros > 0) {
      const until = performance.now() + init.spinMicros / 1000;
      let spins = 0;
      while (Atomics.load(ctl, EPOCH) === seen && ((++spins & 63) !== 0 || performance.now() < until)) { /* spin */ }
    }
    Atomics.wait(ctl, EPOCH, seen);
    seen = Atomics.load(ctl, EPOCH);
  }
}

/** Whether this thread may block in Atomics.wait (not a browser's main thread). */
function canBlock(ctl: Int32Array): boolean {
  try {
    Atomics.wait(ctl, EPOCH, Atomics.load(ctl, EPOCH) + 1, 0); // value differs: returns at once where allowed
    return true;
  } catch {
    return false;
  }
}

export interface GemmJob {
  ta: number; tb: number; m: number; n: number; k: number; alpha: number;
  a: number; b: number; beta: number; c: number;
}

/** One `optimizer_step` over a parameter, by byte offsets (the program and the state table as index.ts lays them out). */
export interface OptimizerJob {
  w: number; u: number; n: number; program: number; ops: number;
  /** One state table per chunk, back to back: `states` i32 offsets each, already moved to the chunk's start. */
  tables: number; states: number;
  /** Floats per chunk (a multiple of 16: chunks start on their own cache lines and whole vectors). */
  size: number;
}

/**
 * Cutting a GEMM into chunks: along N for n ≥ m (each chunk packs all of op(A)), else along M;
 * and along M for a weight gradient op(A) = Aᵀ with op(B) of at most ROWS_MAX_B floats (so a
 * thread computes whole rows of dW, the rows its part of the optimizer step then reads).
 */
export interface ChunkPolicy {
  /** Smallest chunk, in columns (a multiple of NR) when N is split. */
  minColumns: number;
  /** Smallest chunk, in rows (a multiple of MR) when M is split. */
  minRows: number;
  /** At most this many chunks per thread (more balances load, each costs a repacking). */
  chunksPerThread: number;
}

/**
 * Largest op(B) (k·n floats) a row-split Aᵀ·B packs once per thread: a Dense layer's x (B × in)
 * is, a convolution's columns (100k+ wide) are not (the native backend's rule, gemm.c).
 */
const ROWS_MAX_B = 1 << 20;

/** The calling thread's side: publishes jobs, computes its share, waits for the rest. */
export class KernelThreads {
  readonly threads: number;
  private readonly ctl: Int32Array;
  private readonly f32: Float32Array;
  private readonly blocking: boolean;
  private epoch = 0;
  /**
   * GEMMs run here, their chunks, and how many of those the calling thread computed itself;
   * optimizer steps split here.
   */
  readonly stats = { gemms: 0, chunks: 0, callerChunks: 0, optimizerSteps: 0 };
  private failure: string | undefined;
  private stopped = false;

  constructor(
    memory: WebAssembly.Memory,
    private readonly ex: ThreadExports,
    private readonly work: number,
    private readonly workers: WasmWorkerHandle[],
    private readonly timeoutMs: number,
    private readonly policy: ChunkPolicy,
    private readonly tile: { mr: number; nr: number },
    /** µs to spin on DONE before blocking in Atomics.wait. */
    private readonly spinMicros: number,
  ) {
    this.threads = workers.length + 1;
    this.ctl = new Int32Array(memory.buffer, 0, CONTROL_BYTES / 4);
    this.f32 = new Float32Array(memory.buffer, 0, CONTROL_BYTES / 4);
    this.blocking = canBlock(this.ctl);
    this.epoch = Atomics.load(this.ctl, EPOCH);
  }

  /** Records that a worker is gone (its exit or error event); the next call throws it. */
  fail(reason: string): void {
    if (!this.stopped) this.failure ??= reason;
  }

  get active(): boolean {
    return !this.stopped;
  }

  private throwFailure(reason: string): never {
    this.failure ??= reason;
    this.shutdown();
    throw new Error(`wasm backend: ${reason}`);
  }

  /** Throws if a worker has failed: the backend then refuses every GEMM, threaded or not. */
  check(): void {
    if (this.failure !== undefined) throw new Error(`wasm backend: a worker thread failed earlier (${this.failure}); load a new backend`);
  }

  /** Computes the whole GEMM (k > 0) across the threads; C is complete when it returns. */
  gemm(job: GemmJob): void {
    this.check();
    const { ctl, f32, policy } = this;
    const splitRows = job.m > job.n || (job.ta !== 0 && job.tb === 0 && job.k * job.n <= ROWS_MAX_B);
    const extent = splitRows ? job.m : job.n, unit = splitRows ? this.tile.mr : this.tile.nr;
    const minChunk = splitRows ? policy.minRows : policy.minColumns;
    const chunks0 = Math.min(MAX_CHUNKS, Math.max(this.threads, Math.min(Math.ceil(extent / minChunk), policy.chunksPerThread * this.threads)));
    const size = Math.ceil(Math.ceil(extent / chunks0) / unit) * unit;
    const chunks = Math.ceil(extent / size);

    ctl[TA] = job.ta; ctl[TB] = job.tb; ctl[M] = job.m; ctl[N] = job.n; ctl[K] = job.k;
    f32[ALPHA] = job.alpha; ctl[A] = job.a; ctl[B] = job.b; f32[BETA] = job.beta; ctl[C] = job.c;
    ctl[SPLIT_ROWS] = splitRows ? 1 : 0; ctl[CHUNK] = size;
    this.stats.gemms++;
    this.stats.chunks += chunks;
    this.stats.callerChunks += this.run(GEMM_JOB, chunks);
  }

  /** Runs `optimizer_step` over the parameter in chunks of `size` floats across the threads. */
  optimizerStep(job: OptimizerJob): void {
    this.check();
    const { ctl } = this;
    ctl[W] = job.w; ctl[U] = job.u; ctl[LENGTH] = job.n; ctl[PROGRAM] = job.program; ctl[OPS] = job.ops;
    ctl[TABLES] = job.tables; ctl[STATES] = job.states; ctl[SIZE] = job.size;
    this.stats.optimizerSteps++;
    this.run(OPTIMIZER_JOB, Math.ceil(job.n / job.size));
  }

  /** Publishes the job whose arguments are written, computes chunks from the front, waits for the rest; returns the chunks it did. */
  private run(kind: number, chunks: number): number {
    const { ctl } = this;
    ctl[KIND] = kind;
    ctl[CHUNKS] = chunks;
    Atomics.store(ctl, DONE, 0);
    this.epoch = (this.epoch + 1) | 0;
    Atomics.store(ctl, TICKET, ticket(this.epoch, 0, chunks));
    Atomics.store(ctl, EPOCH, this.epoch);
    Atomics.notify(ctl, EPOCH);
    const mine = runChunks(ctl, this.f32, this.ex, this.work, false);

    let last = Atomics.load(ctl, DONE), since = performance.now();
    const spinUntil = since + this.spinMicros / 1000;
    while (last !== chunks) {
      if (Atomics.load(ctl, ERROR)) this.throwFailure(readMessage(ctl) || `worker thread ${ctl[ERROR]} failed`);
      if (this.blocking && performance.now() >= spinUntil) {
        Atomics.wait(ctl, DONE, last, 50); // after a short spin: a worker's block usually ends within µs
      } else {
        for (let i = 0; i < 1000 && Atomics.load(ctl, DONE) === last; i++) { /* spin */ }
      }
      const d = Atomics.load(ctl, DONE), now = performance.now();
      if (d !== last) { last = d; since = now; } else if (now - since > this.timeoutMs) {
        this.throwFailure(`a worker thread held ${kind === GEMM_JOB ? 'a GEMM' : 'an optimizer'} block for over ${this.timeoutMs} ms ` +
          `without finishing it (it crashed or is stuck); the result is incomplete`);
      }
    }
    return mine;
  }

  /** Stops and terminates the workers (idempotent). */
  shutdown(): void {
    if (this.stopped) return;
    this.stopped = true;
    Atomics.store(this.ctl, STOP, 1);
    Atomics.store(this.ctl, EPOCH, (this.epoch = (this.epoch + 1) | 0));
    Atomics.notify(this.ctl, EPOCH);
    for (const w of this.workers) {
      try { w.terminate(); } catch { /* already gone */ }
    }
  }
}

/**
 * A `SpawnWasmWorker` for browsers: `new Worker(url, { type })`, or a function that makes the
 * Worker (so a bundler sees `new Worker(new URL(…, import.meta.url))` where it is written), on a
 * script that does
 *   self.onmessage = (e) => runWasmWorker(e.data, (m) => self.postMessage(m));
 * (the package's is ./web-worker.ts). Threads need SharedArrayBuffer, which browsers give only
 * to cross-origin-isolated pages (COOP: same-origin and COEP: require-corp headers).
 */
export function webWorkerSpawner(script: string | URL | (() => Worker), options: { type?: 'classic' | 'module' } = {}): SpawnWasmWorker {
  return () => {
    const worker = typeof script === 'function' ? script() : new Worker(script, { type: options.type ?? 'classic' });
    return {
      postMessage: (m) => worker.postMessage(m),
      listen(onMessage, onExit) {
        worker.addEventListener('message', (e) => onMessage((e as MessageEvent).data));
        worker.addEventListener('error', (e) => onExit(`worker error: ${(e as ErrorEvent).message ?? 'failed to load'}`));
        worker.addEventListener('messageerror', () => onExit('worker message could not be deserialized'));
      },
      terminate: () => worker.terminate(),
    };
  };
}
