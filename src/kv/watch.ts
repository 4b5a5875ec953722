// The watch hub: matches the events of each applied entry to watchers and replays history for
// watchers that start in the past. Pure; the shell calls notify() after every apply and poll() (or
// take()) when it can send. Guarantees per watcher: events in revision order, no gap, no duplicate.
//
// A watcher is either "synced" (it has seen everything up to the last notified revision; new events
// are queued for it, at most maxPendingEvents, else it is cancelled as slow and the client resumes
// from `resumeRevision`) or "catching up" (it reads the store's history from its cursor, a page per
// poll, until it reaches the last notified revision and becomes synced).
import type { KvError } from "./command.js";
import { kvError } from "./command.js";
import { inRange } from "./keys.js";
import type { HistoryPage } from "./mvcc.js";
import type { KeyRange, Revision, WatchEvent } from "./types.js";
import { validateRange } from "./validate.js";

/** What a registry reads: the store (KvStore implements it). */
export interface WatchSource {
  readonly revision: Revision;
  readonly compactRevision: Revision;
  history(fromRevision: Revision, range: KeyRange | undefined, options: { untilRevision?: Revision; maxEvents: number; maxScanned: number }): HistoryPage | KvError;
}

/** Watch a key or range (prefixRange() for a prefix). */
export interface WatchRequest extends KeyRange {
  /** First revision to report; 0 or undefined = changes after the current revision only. */
  readonly startRevision?: Revision | undefined;
  /** Include the previous version in events. */
  readonly prevKv?: boolean | undefined;
}

/** Bounds of the hub. */
export interface WatcherRegistryOptions {
  /** Events queued for one synced watcher before it is cancelled as slow. */
  readonly maxPendingEvents: number;
  /** Watchers at once. */
  readonly maxWatchers: number;
  /** Events handed out per watcher per poll/take (a revision may span two batches). */
  readonly maxBatchEvents: number;
  /** Log entries a catching-up watcher reads per poll. */
  readonly maxScannedPerPoll: number;
}

/** Default bounds. */
export const DEFAULT_WATCHER_OPTIONS: WatcherRegistryOptions = {
  maxPendingEvents: 10_000,
  maxWatchers: 100_000,
  maxBatchEvents: 1000,
  maxScannedPerPoll: 10_000,
};

/** Why the hub cancelled a watcher. */
/** no_leader: the node lost touch with the leader (etcd's "require leader"); resume on another node. */
export type WatchCancelCode = "slow_watcher" | "compacted" | "no_leader";
/** Something to send to a watcher's client. */
export type WatchBatch =
  | { readonly type: "events"; readonly watchId: number; readonly events: readonly WatchEvent[] }
  /**
   * Everything up to `revision` was sent: after a reconnect, watch again from revision + 1. Like
   * etcd's progress notify, it is a response without events (`events` is always empty).
   */
  | { readonly type: "progress"; readonly watchId: number; readonly revision: Revision; readonly events: readonly WatchEvent[] }
  | {
      readonly type: "cancelled";
      readonly watchId: number;
      readonly code: WatchCancelCode;
      readonly message: string;
      /** Watch again from here to miss nothing (slow_watcher, no_leader). */
      readonly resumeRevision?: Revision;
      /** For "compacted": the first revision still available. */
      readonly compactRevision?: Revision;
    };

/** Answer to watch(). */
export type WatchCreateResult = { readonly ok: true; readonly watchId: number; readonly startRevision: Revision } | KvError;

interface Watcher {
  readonly id: number;
  readonly range: KeyRange;
  readonly prevKv: boolean;
  /** Synced: events below this are skipped. Catching up: the history cursor. */
  nextRevision: Revision;
  synced: boolean;
  cancelled: boolean;
  pending: WatchEvent[];
}

const NO_EVENTS: readonly WatchEvent[] = [];

function forWatcher(w: Watcher, e: WatchEvent): WatchEvent {
  return w.prevKv || e.prevKv === undefined ? e : { type: e.type, kv: e.kv };
}

/** Watchers of one node's store. */
export class WatcherRegistry {
  private readonly options: WatcherRegistryOptions;
  private readonly watchers = new Map<number, Watcher>();
  private readonly byKey = new Map<string, Set<Watcher>>();
  private readonly rangeWatchers = new Set<Watcher>();
  /** Ids with something to hand out (pending events or history to replay). */
  private readonly ready = new Set<number>();
  private notices: WatchBatch[] = [];
  private lastWatchId = 0;
  private notified: Revision;
  /** Set while the node has no leader contact: new watches are refused with it. */
  private leaderless: string | null = null;

  constructor(
    private readonly source: WatchSource,
    options: Partial<WatcherRegistryOptions> = {},
  ) {
    this.options = { ...DEFAULT_WATCHER_OPTIONS, ...options };
    this.notified = source.revision;
  }

  /** Number of live watchers. */
  get size(): number {
    return this.watchers.size;
  }

  /** Starts a watcher. A startRevision below the store's compaction revision gets "compacted". */
  watch(req: WatchRequest): WatchCreateResult {
    const bad = validateRange(req);
    if (bad) return bad;
    if (this.leaderless !== null) return kvError("no_leader", this.leaderless);
    if (this.watchers.size >= this.options.maxWatchers) return kvError("too_many_watchers", `Cannot watch ${req.key}: ${this.options.maxWatchers} watchers are open`);
    const start = req.startRevision === undefined || req.startRevision === 0 ? this.notified + 1 : req.startRevision;
    if (!Number.isSafeInteger(start) || start < 0) return kvError("invalid_revision", `Cannot watch from revision ${req.startRevision}`);
    if (start < this.source.compactRevision) {
      return kvError("compacted", `Cannot watch ${req.key} from revision ${start}: compacted up to ${this.source.compactRevision}`, {
        compactRevision: this.source.compactRevision,
      });
    }
    const range: KeyRange = req.rangeEnd === undefined ? { key: req.key } : { key: req.key, rangeEnd: req.rangeEnd };
    const w: Watcher = { id: ++this.lastWatchId, range, prevKv: req.prevKv === true, nextRevision: start, synced: start > this.notified, cancelled: false, pending: [] };
    this.watchers.set(w.id, w);
    if (range.rangeEnd === undefined) {
      let set = this.byKey.get(range.key);
      if (!set) this.byKey.set(range.key, (set = new Set()));
      set.add(w);
    } else {
      this.rangeWatchers.add(w);
    }
    if (!w.synced) this.ready.add(w.id);
    return { ok: true, watchId: w.id, startRevision: start };
  }

  /** Whether new watches are refused for lack of a leader (see endAllNoLeader). */
  get suspended(): boolean {
    return this.leaderless !== null;
  }

  /**
   * The node lost touch with the leader: its store may fall behind for good (an orphaned learner, a
   * cut-off follower), so every watcher ends with "no_leader" and the revision to resume from on
   * another node, and new watches are refused until resumeNew(). Like etcd's "require leader" watches.
   */
  endAllNoLeader(message: string): void {
    this.leaderless = message;
    for (const w of [...this.watchers.values()]) {
      // Everything below the resume revision was handed out (or did not match the range).
      const resumeRevision = w.pending[0]?.kv.modRevision ?? (w.synced ? Math.max(w.nextRevision, this.notified + 1) : w.nextRevision);
      this.cancelWith(w, { type: "cancelled", watchId: w.id, code: "no_leader", message: `Cancelled watch ${w.id}: ${message}; watch again from revision ${resumeRevision} on another node`, resumeRevision });
    }
  }

  /** Leader contact is back: new watches are accepted again. */
  resumeNew(): void {
    this.leaderless = null;
  }

  /** Stops a watcher at its client's request; false if it is unknown (or already cancelled). */
  cancel(watchId: number): boolean {
    const w = this.watchers.get(watchId);
    if (!w) return false;
    this.remove(w);
    return true;
  }

  private remove(w: Watcher): void {
    w.cancelled = true;
    w.pending = [];
    this.watchers.delete(w.id);
    this.ready.delete(w.id);
    if (w.range.rangeEnd === undefined) {
      const set = this.byKey.get(w.range.key);
      set?.delete(w);
      if (set?.size === 0) this.byKey.delete(w.range.key);
    } else {
      this.rangeWatchers.delete(w);
    }
  }

  private cancelWith(w: Watcher, notice: WatchBatch): void {
    this.remove(w);
    this.notices.push(notice);
  }

  /** Queues the events of one applied entry (ApplyOutput.events) for the synced watchers that match. */
  notify(events: readonly WatchEvent[]): void {
    const first = events[0];
    if (first === undefined) return;
    const rev = first.kv.modRevision;
    if (rev <= this.notified) throw new Error(`Cannot notify revision ${rev}: revision ${this.notified} was already notified`);
    for (const e of events) {
      const keyed = this.byKey.get(e.kv.key);
      if (keyed) for (const w of keyed) this.offer(w, e, rev);
      for (const w of this.rangeWatchers) if (inRange(w.range, e.kv.key)) this.offer(w, e, rev);
    }
    this.notified = rev;
  }

  private offer(w: Watcher, e: WatchEvent, rev: Revision): void {
    if (w.cancelled || !w.synced || rev < w.nextRevision) return;
    if (w.pending.length >= this.options.maxPendingEvents) {
      const resumeRevision = w.pending[0]?.kv.modRevision ?? rev;
      this.cancelWith(w, {
        type: "cancelled",
        watchId: w.id,
        code: "slow_watcher",
        message: `Cancelled watch ${w.id}: more than ${this.options.maxPendingEvents} events waited to be sent; watch again from revision ${resumeRevision}`,
        resumeRevision,
      });
      return;
    }
    w.pending.push(forWatcher(w, e));
    this.ready.add(w.id);
  }

  /** After KvStore.restore(): every watcher catches up from the restored history (or is cancelled as compacted). */
  onRestore(): void {
    const before = this.notified;
    this.notified = this.source.revision;
    for (const w of this.watchers.values()) {
      if (w.synced) {
        w.synced = false;
        w.nextRevision = Math.max(w.nextRevision, before + 1);
      }
      this.ready.add(w.id);
    }
  }

  /**
   * Progress notices (etcd's progress notify) for every live watcher with nothing left to send, so
   * that a client watching a quiet key can resume from a recent revision rather than a compacted one.
   * The shell calls it now and then (every few seconds), not after every apply.
   */
  progress(): WatchBatch[] {
    const out: WatchBatch[] = [];
    for (const w of this.watchers.values()) {
      if (w.synced && w.pending.length === 0) out.push({ type: "progress", watchId: w.id, revision: Math.max(this.notified, w.nextRevision - 1), events: NO_EVENTS });
    }
    return out;
  }

  /** Everything ready to send: cancellations first, then up to maxEvents per watcher. */
  poll(maxEvents = this.options.maxBatchEvents): WatchBatch[] {
    const out = this.notices;
    this.notices = [];
    for (const id of [...this.ready]) {
      const batch = this.take(id, maxEvents);
      if (batch) out.push(batch);
    }
    return out;
  }

  /** What is ready for one watcher (up to maxEvents), for per-client flow control; undefined if nothing. */
  take(watchId: number, maxEvents = this.options.maxBatchEvents): WatchBatch | undefined {
    const w = this.watchers.get(watchId);
    if (!w) {
      const i = this.notices.findIndex((n) => n.watchId === watchId);
      return i < 0 ? undefined : this.notices.splice(i, 1)[0];
    }
    const events = w.pending.length <= maxEvents ? w.pending : w.pending.slice(0, maxEvents);
    w.pending = w.pending.length <= maxEvents ? [] : w.pending.slice(maxEvents);
    if (!w.synced && w.pending.length === 0 && events.length < maxEvents) {
      const page = this.source.history(w.nextRevision, w.range, {
        untilRevision: this.notified,
        maxEvents: maxEvents - events.length,
        maxScanned: this.options.maxScannedPerPoll,
      });
      if (!page.ok) {
        const notice: WatchBatch = {
          type: "cancelled",
          watchId: w.id,
          code: "compacted",
          message: `Cancelled watch ${w.id}: history from revision ${w.nextRevision} is compacted up to ${page.compactRevision}`,
          compactRevision: page.compactRevision ?? this.source.compactRevision,
        };
        this.remove(w);
        if (events.length === 0) return notice;
        this.notices.push(notice);
        return { type: "events", watchId: w.id, events };
      }
      for (const e of page.events) events.push(forWatcher(w, e));
      w.nextRevision = page.nextRevision;
      if (w.nextRevision > this.notified) w.synced = true;
    }
    if (w.synced && w.pending.length === 0) this.ready.delete(w.id);
    return events.length > 0 ? { type: "events", watchId: w.id, events } : undefined;
  }
}
