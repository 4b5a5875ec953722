// The leader's lease clock: in-memory deadlines of every lease, renewed by keep-alives (which are not
// Raft entries, as in etcd) and turned into "leaseExpire" proposals when they pass. Pure: the shell
// passes a monotonic `nowMs` to every call. Only the leader keeps one; a new leader calls promote(),
// which gives every lease a full TTL before any can expire (a lease is never cut short by a change
// of leader, whatever the old leader had last heard).
import { MAX_EXPIRE_BATCH } from "./limits.js";
import type { LeaseChange } from "./machine.js";
import type { LeaseId } from "./types.js";
import type { DeadlineEntry } from "./deadline-heap.js";
import { DeadlineHeap } from "./deadline-heap.js";

/** Tuning of the lease clock. */
export interface LeaseClockOptions {
  /** After proposing the expiry of a lease, wait this long before proposing it again (the proposal may be lost). */
  readonly expireRetryMs: number;
}

/** Default tuning: re-propose a lost expiry after one second. */
export const DEFAULT_LEASE_CLOCK_OPTIONS: LeaseClockOptions = { expireRetryMs: 1000 };

/** Answer to a keep-alive. */
export type RenewResult =
  | { readonly ok: true; readonly id: LeaseId; readonly ttlMs: number }
  | { readonly ok: false; readonly code: "lease_not_found" | "lease_expired"; readonly message: string };

interface Deadline {
  readonly ttlMs: number;
  deadlineMs: number;
  /** Set once the expiry was handed out by expired(): when to hand it out again if still alive. */
  retryAtMs: number | undefined;
  /** Matches the one live heap entry of this lease. */
  generation: number;
}

/** Rebuild the heap once stale entries (left by renewals) outnumber live ones by this factor. */
const HEAP_STALE_FACTOR = 2;
/** ... but never for fewer entries than this. */
const HEAP_REBUILD_MIN = 1024;

/** Deadlines of the live leases, as the leader sees them. */
export class LeaseClock {
  private readonly deadlines = new Map<LeaseId, Deadline>();
  private readonly heap = new DeadlineHeap();
  private generation = 0;

  constructor(private readonly options: LeaseClockOptions = DEFAULT_LEASE_CLOCK_OPTIONS) {
    if (!(options.expireRetryMs > 0)) throw new Error(`Cannot make a lease clock with expireRetryMs ${options.expireRetryMs}: it must be positive`);
  }

  /** Number of leases tracked. */
  get size(): number {
    return this.deadlines.size;
  }

  private schedule(id: LeaseId, d: Deadline): void {
    d.generation = ++this.generation;
    this.heap.push({ atMs: d.retryAtMs ?? d.deadlineMs, id, generation: d.generation });
    if (this.heap.size > HEAP_REBUILD_MIN && this.heap.size > HEAP_STALE_FACTOR * this.deadlines.size) this.rebuildHeap();
  }

  private rebuildHeap(): void {
    const entries = [...this.deadlines].map(([id, d]) => ({ atMs: d.retryAtMs ?? d.deadlineMs, id, generation: d.generation }));
    this.heap.rebuild(entries);
  }

  private track(id: LeaseId, ttlMs: number, nowMs: number): void {
    const d: Deadline = { ttlMs, deadlineMs: nowMs + ttlMs, retryAtMs: undefined, generation: 0 };
    this.deadlines.set(id, d);
    this.schedule(id, d);
  }

  /** On becoming leader: track exactly `leases` (from KvStore.leases()), each with a full TTL from now. */
  promote(leases: Iterable<{ readonly id: LeaseId; readonly ttlMs: number }>, nowMs: number): void {
    this.demote();
    for (const l of leases) this.deadlines.set(l.id, { ttlMs: l.ttlMs, deadlineMs: nowMs + l.ttlMs, retryAtMs: undefined, generation: ++this.generation });
    this.rebuildHeap();
  }

  /** On losing leadership: forget every deadline (the next leader starts afresh). */
  demote(): void {
    this.deadlines.clear();
    this.heap.clear();
  }

  /** Follows the lease table: call with ApplyOutput.leaseChanges of every applied entry while leader. */
  observe(changes: readonly LeaseChange[], nowMs: number): void {
    for (const c of changes) {
      if (c.type === "granted") this.track(c.id, c.ttlMs, nowMs);
      else this.deadlines.delete(c.id); // its heap entry goes stale
    }
  }

  /** A keep-alive: the lease gets a full TTL from now, unless it already ran out. */
  renew(id: LeaseId, nowMs: number): RenewResult {
    const d = this.deadlines.get(id);
    if (!d) return { ok: false, code: "lease_not_found", message: `Cannot renew lease ${id}: not found` };
    if (d.deadlineMs <= nowMs) return { ok: false, code: "lease_expired", message: `Cannot renew lease ${id}: it expired` };
    d.deadlineMs = nowMs + d.ttlMs;
    this.schedule(id, d);
    return { ok: true, id, ttlMs: d.ttlMs };
  }

  /** Time left on a lease (0 once run out), or undefined when it is not tracked. */
  remainingMs(id: LeaseId, nowMs: number): number | undefined {
    const d = this.deadlines.get(id);
    return d && Math.max(0, d.deadlineMs - nowMs);
  }

  /** The live heap top, dropping stale entries on the way. */
  private top(): { entry: DeadlineEntry; deadline: Deadline } | undefined {
    for (let entry = this.heap.peek(); entry !== undefined; entry = this.heap.peek()) {
      const deadline = this.deadlines.get(entry.id);
      if (deadline && deadline.generation === entry.generation) return { entry, deadline };
      this.heap.pop();
    }
    return undefined;
  }

  /**
   * Leases whose deadline passed and whose expiry is not already in flight, earliest first, at most
   * `max` (returned by id): propose them as one "leaseExpire" command. Each is handed out again after
   * expireRetryMs if its expiry has not been applied by then (the apply is idempotent, so a duplicate
   * is harmless).
   */
  expired(nowMs: number, max = MAX_EXPIRE_BATCH): LeaseId[] {
    const due: LeaseId[] = [];
    for (let t = this.top(); t !== undefined && t.entry.atMs <= nowMs && due.length < max; t = this.top()) {
      this.heap.pop();
      due.push(t.entry.id);
      t.deadline.retryAtMs = nowMs + this.options.expireRetryMs;
      this.schedule(t.entry.id, t.deadline);
    }
    return due.sort((a, b) => a - b);
  }

  /** The earliest time expired() could return something (to arm the shell's timer), or undefined. */
  nextDeadlineMs(): number | undefined {
    return this.top()?.entry.atMs;
  }
}
