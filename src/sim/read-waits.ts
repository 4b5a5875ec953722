// Client reads (and keep-alives) a simulated node holds while Raft's ReadIndex confirms its
// leadership: each waits for its read state, then for the node to apply up to that index. Shared
// by both simulators' node shells, which serve the released requests each in their own way.
import type { ReadState } from "../raft/raft.js";

interface Waiting<Req> {
  readonly req: Req;
  /** The read index once the read state arrived; -1 until then. */
  index: number;
}

/** The requests of type `Req` one node holds for their read index, by read context. */
export class ReadWaits<Req> {
  private readonly byContext = new Map<string, Waiting<Req>>();

  /** How many requests wait (callers bound it). */
  get size(): number {
    return this.byContext.size;
  }

  /** Holds `req` until the read state for `context` arrives and is applied. */
  add(context: string, req: Req): void {
    this.byContext.set(context, { req, index: -1 });
  }

  /** Records the read indexes the core confirmed. */
  onReadStates(readStates: readonly ReadState[]): void {
    for (const rs of readStates) {
      const w = this.byContext.get(rs.context);
      if (w !== undefined) w.index = rs.index;
    }
  }

  /** Releases, in arrival order, the requests whose read index is confirmed and at most `appliedIndex`. */
  takeServable(appliedIndex: number): Req[] {
    const out: Req[] = [];
    if (this.byContext.size === 0) return out;
    for (const [context, w] of this.byContext) {
      if (w.index < 0 || w.index > appliedIndex) continue;
      this.byContext.delete(context);
      out.push(w.req);
    }
    return out;
  }

  /** Forgets every waiting request (the node crashed). */
  clear(): void {
    this.byContext.clear();
  }
}
