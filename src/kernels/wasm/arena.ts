/**
 * Blocks of a WebAssembly memory handed out and taken back: the allocator behind the wasm
 * backend's zero-copy buffers. First fit over a free list kept in offset order, neighbours
 * merged on release, the memory grown past the top when nothing fits. A model's buffers are
 * allocated once when it is built, so the list stays short (one entry per freed model buffer
 * at most) and a linear scan is cheap.
 *
 * Pure bookkeeping: `grow(end)` makes the memory at least `end` bytes long.
 */
export const ARENA_ALIGN = 64;

interface FreeBlock { off: number; bytes: number }

export class Arena {
  private readonly free: FreeBlock[] = [];
  /** Bytes handed out and not yet released (tests and leak checks). */
  used = 0;

  constructor(private top: number, private readonly grow: (end: number) => void) {
    if (top % ARENA_ALIGN !== 0) throw new RangeError(`arena start ${top} is not ${ARENA_ALIGN}-byte aligned`);
  }

  /** A block of at least `bytes` (rounded up to ARENA_ALIGN); returns its offset. */
  alloc(bytes: number): number {
    const size = Math.max(ARENA_ALIGN, Math.ceil(bytes / ARENA_ALIGN) * ARENA_ALIGN);
    this.used += size;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i];
      if (b.bytes < size) continue;
      const off = b.off;
      if (b.bytes === size) this.free.splice(i, 1);
      else { b.off += size; b.bytes -= size; }
      return off;
    }
    const off = this.top;
    this.top += size;
    this.grow(this.top);
    return off;
  }

  /** Returns a block from `alloc` (same `bytes`). */
  release(off: number, bytes: number): void {
    const size = Math.max(ARENA_ALIGN, Math.ceil(bytes / ARENA_ALIGN) * ARENA_ALIGN);
    this.used -= size;
    let i = 0;
    while (i < this.free.length && this.free[i].off < off) i++;
    const prev = this.free[i - 1], next = this.free[i];
    if (off + size > this.top || (prev && prev.off + prev.bytes > off) || (next && off + size > next.off)) {
      throw new Error(`arena: block at ${off} (${size} bytes) is not in use (past the top or overlapping a free block): released twice?`);
    }
    if (prev && prev.off + prev.bytes === off) {
      prev.bytes += size;
      if (next && prev.off + prev.bytes === next.off) { prev.bytes += next.bytes; this.free.splice(i, 1); }
    } else if (next && off + size === next.off) {
      next.off = off; next.bytes += size;
    } else {
      this.free.splice(i, 0, { off, bytes: size });
    }
    // A free block at the top goes back to the bump pointer (the memory itself never shrinks).
    const last = this.free[this.free.length - 1];
    if (last && last.off + last.bytes === this.top) { this.top = last.off; this.free.pop(); }
  }

  /** Free blocks, in offset order (tests). */
  freeBlocks(): readonly Readonly<FreeBlock>[] {
    return this.free.map((b) => ({ ...b }));
  }

  get end(): number {
    return this.top;
  }
}
