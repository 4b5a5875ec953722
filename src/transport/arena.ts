// Where received entry data is kept. Entries live in the Raft log long after the socket chunk they
// arrived in is gone, so they must not be views into that chunk (one 100-byte entry would pin a
// 64 KiB chunk full of other frames). Copying each entry into its own ArrayBuffer costs an
// allocation per entry; instead entries are copied back to back into slabs, which hold nothing
// but entry data in log order and so fall free together when the log is compacted.

/** Size of one slab. */
export const ARENA_SLAB_BYTES = 64 * 1024;
/** Data larger than this gets its own buffer instead of a slab slice. */
export const ARENA_MAX_SLICE_BYTES = 8 * 1024;

/** Bump allocator of byte copies. One per connection; not shared across connections. */
export class ByteArena {
  private slab = new ArrayBuffer(0);
  private offset = 0;

  /** A copy of `bytes` as a plain Uint8Array. */
  copy(bytes: Uint8Array): Uint8Array {
    const n = bytes.length;
    if (n > ARENA_MAX_SLICE_BYTES) return new Uint8Array(bytes);
    if (this.offset + n > this.slab.byteLength) {
      this.slab = new ArrayBuffer(ARENA_SLAB_BYTES);
      this.offset = 0;
    }
    const out = new Uint8Array(this.slab, this.offset, n);
    out.set(bytes);
    this.offset += n;
    return out;
  }
}
