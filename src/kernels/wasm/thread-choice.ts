/**
 * Whether a GEMM of a given shape should be split over the threads or stay on the calling
 * thread, learned from how long each way takes on this machine now.
 *
 * Why learn it: a split GEMM waits for its slowest thread. On an idle machine the second core
 * nearly halves a large GEMM; when another process holds that core (a training run, a study's
 * other shard, a browser tab) the worker wakes late and the split GEMM is slower than one
 * thread: measured 18.9k against 22.9k samples/s for the MLP step with a study on the other
 * core. A fixed flop threshold cannot know which case it is in. Both ways give the same bits
 * (each C element is computed by one thread in the same k order), so the choice changes speed
 * only.
 *
 * Per shape (transposes, m, n, k): the first two calls of each way are probes (the first one's
 * time is dropped: it pays for page faults and a sleeping worker), then the way with the lower
 * moving average runs, and every `reprobeEvery`-th call runs the other way once so a change in
 * load is noticed. The shape table is a short array scanned linearly (a model has a few dozen
 * shapes): no allocation per call.
 */
export interface ShapeTiming {
  readonly ta: number; readonly tb: number; readonly m: number; readonly n: number; readonly k: number;
  calls: number;
  /** Samples seen per way, [serial, split]. */
  readonly seen: [number, number];
  /** Moving average of ms per call per way, [serial, split] (NaN before the first kept sample). */
  readonly avg: [number, number];
}

export class ThreadChoice {
  private readonly shapes: ShapeTiming[] = [];
  /** Calls that ran on the calling thread although the shape is large enough to split. */
  keptSerial = 0;

  constructor(readonly reprobeEvery = 64, readonly smoothing = 0.3) {}

  shape(ta: number, tb: number, m: number, n: number, k: number): ShapeTiming {
    for (const s of this.shapes) if (s.m === m && s.n === n && s.k === k && s.ta === ta && s.tb === tb) return s;
    const s: ShapeTiming = { ta, tb, m, n, k, calls: 0, seen: [0, 0], avg: [NaN, NaN] };
    this.shapes.push(s);
    return s;
  }

  /** Whether this call of the shape should be split (counts the call). */
  split(s: ShapeTiming): boolean {
    const call = s.calls++;
    if (s.seen[1] < 2) return true;
    if (s.seen[0] < 2) return this.serial();
    const splitWins = s.avg[1] <= s.avg[0];
    const probe = call % this.reprobeEvery === 0;
    return splitWins !== probe ? true : this.serial();
  }

  /** Records how long a call took, `split` as decided for it. */
  record(s: ShapeTiming, split: boolean, ms: number): void {
    const way = split ? 1 : 0;
    if (s.seen[way]++ === 0) return;
    s.avg[way] = Number.isNaN(s.avg[way]) ? ms : s.avg[way] + this.smoothing * (ms - s.avg[way]);
  }

  private serial(): false {
    this.keptSerial++;
    return false;
  }
}
