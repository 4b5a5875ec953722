// The leader's lease clock: in-memory deadlines of every lease, renewed by keep-alives (which are not
// Raft entries, as in etcd) and turned into "leaseExpire" proposals when they pass. Pure: the shell
// passes a monotonic `nowMs` to every call. Only the leader keeps one; a new leader calls promote(),
// which gives every lease a full TTL before any can expire (a lease is never cut short by a change
// of leader, whatever the old leader had last heard).
import { MAX_EXPIRE_BATCH } from "./limits.js";
import type { LeaseChange } from "./machine.js";
import type { LeaseId } from "./types.js";

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
}

/** Deadlines of the live leases, as the leader sees them. */
export class LeaseClock {
  private readonly deadlines = new Map<LeaseId, Deadline>();

  constructor(private readonly options: LeaseClockOptions = DEFAULT_LEASE_CLOCK_OPTIONS) {}

  /** Number of leases tracked. */
  get size(): number {
    return this.deadlines.size;
  }

  /** On becoming leader: track exactly `leases` (from KvStore.leases()), each with a full TTL from now. */
  promote(leases: Iterable<{ readonly id: LeaseId; readonly ttlMs: number }>, nowMs: number): void {
    this.deadlines.clear();
    for (const l of leases) this.deadlines.set(l.id, { ttlMs: l.ttlMs, deadlineMs: nowMs + l.ttlMs, retryAtMs: undefined });
  }

  /** On losing leadership: forget every deadline (the next leader starts afresh). */
  demote(): void {
    this.deadlines.clear();
  }

  /** Follows the lease table: call with ApplyOutput.leaseChanges of every applied entry while leader. */
  observe(changes: readonly LeaseChange[], nowMs: number): void {
    for (const c of changes) {
      if (c.type === "granted") this.deadlines.set(c.id, { ttlMs: c.ttlMs, deadlineMs: nowMs + c.ttlMs, retryAtMs: undefined });
      else this.deadlines.delete(c.id);
    }
  }

  /** A keep-alive: the lease gets a full TTL from now, unless it already ran out. */
  renew(id: LeaseId, nowMs: number): RenewResult {
    const d = this.deadlines.get(id);
    if (!d) return { ok: false, code: "lease_not_found", message: `Cannot renew lease ${id}: not found` };
    if (d.deadlineMs <= nowMs) return { ok: false, code: "lease_expired", message: `Cannot renew lease ${id}: it expired` };
    d.deadlineMs = nowMs + d.ttlMs;
    return { ok: true, id, ttlMs: d.ttlMs };
  }

  /** Time left on a lease (0 once run out), or undefined when it is not tracked. */
  remainingMs(id: LeaseId, nowMs: number): number | undefined {
    const d = this.deadlines.get(id);
    return d && Math.max(0, d.deadlineMs - nowMs);
  }

  /**
   * Leases whose deadline passed and whose expiry is not already in flight, by id, at most `max`:
   * propose them as one "leaseExpire" command. Each is handed out again after expireRetryMs if its
   * expiry has not been applied by then (the apply is idempotent, so a duplicate is harmless).
   */
  expired(nowMs: number, max = MAX_EXPIRE_BATCH): LeaseId[] {
    const due: LeaseId[] = [];
    for (const [id, d] of this.deadlines) {
      if (d.deadlineMs > nowMs) continue;
      if (d.retryAtMs !== undefined && d.retryAtMs > nowMs) continue;
      due.push(id);
    }
    due.sort((a, b) => a - b);
    const out = due.slice(0, max);
    for (const id of out) (this.deadlines.get(id) as Deadline).retryAtMs = nowMs + this.options.expireRetryMs;
    return out;
  }

  /** The earliest time expired() could return something (to arm the shell's timer), or undefined. */
  nextDeadlineMs(): number | undefined {
    let next: number | undefined;
    for (const d of this.deadlines.values()) {
      const t = d.retryAtMs ?? d.deadlineMs;
      if (next === undefined || t < next) next = t;
    }
    return next;
  }
}
