// A local copy of every key under one store prefix, kept current by a watch. A broken watch is
// resumed from the revision after the last one seen, so no change is missed and nothing is
// forgotten meanwhile: the copy keeps its keys (the proxy keeps routing to the backends it knows)
// until the store says otherwise. Only a compacted history forces a fresh listing.
import type { KvEvent, KvWatch, KvWatchClient } from "./storeSource.js";

/** Delay before resuming a broken watch (doubles up to the max while it keeps failing). */
export const MIRROR_RETRY_BASE_MS = 100;
export const MIRROR_RETRY_MAX_MS = 5_000;
/** Bound on keys one mirror holds. */
export const MAX_MIRROR_KEYS = 100_000;

/** One key as held by the mirror. */
export interface MirroredValue {
  readonly value: string;
  readonly modRevision: number;
  readonly lease: number | undefined;
}

/** What a mirror reports. */
export interface MirrorListener {
  /** The copy changed (after a batch of events or a fresh listing). */
  onChange(): void;
  /** A watch broke or a listing failed; the mirror retries by itself. */
  onError(error: Error): void;
}

/** Keys under one prefix, followed live. */
export class PrefixMirror {
  readonly values = new Map<string, MirroredValue>();
  /** Every change up to this revision is in `values`. */
  private revision = 0;
  private watch: KvWatch | null = null;
  private retryMs = MIRROR_RETRY_BASE_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    readonly prefix: string,
    private readonly client: KvWatchClient,
    private readonly listener: MirrorListener,
  ) {}

  /** The revision the copy is complete up to. */
  get seenRevision(): number {
    return this.revision;
  }

  /** Lists the prefix (rejects when that fails), then watches from the next revision. */
  async start(): Promise<void> {
    await this.list();
    if (!this.stopped) this.startWatch();
  }

  stop(): void {
    this.stopped = true;
    this.watch?.cancel();
    this.watch = null;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private async list(): Promise<void> {
    const { revision, entries } = await this.client.getPrefix(this.prefix);
    if (this.stopped) return;
    this.values.clear();
    for (const e of entries.slice(0, MAX_MIRROR_KEYS)) this.values.set(e.key, { value: e.value, modRevision: e.modRevision, lease: e.lease });
    this.revision = revision;
  }

  private startWatch(): void {
    this.watch = this.client.watchPrefix(this.prefix, this.revision + 1, (events) => this.onEvents(events), (error) => this.onWatchError(error));
  }

  private onEvents(events: readonly KvEvent[]): void {
    if (this.stopped || events.length === 0) return;
    for (const e of events) {
      // A replayed event (a resumed watch overlapping what a listing already held) changes nothing.
      const held = this.values.get(e.key);
      if (held !== undefined && held.modRevision > e.modRevision) continue;
      if (e.type === "delete") this.values.delete(e.key);
      else if (held !== undefined || this.values.size < MAX_MIRROR_KEYS) this.values.set(e.key, { value: e.value ?? "", modRevision: e.modRevision, lease: e.lease });
      else this.listener.onError(new Error(`Cannot follow ${e.key}: over the bound of ${MAX_MIRROR_KEYS} keys under ${this.prefix}`));
      this.revision = Math.max(this.revision, e.modRevision);
    }
    this.retryMs = MIRROR_RETRY_BASE_MS;
    this.listener.onChange();
  }

  private onWatchError(error: Error, relist = isCompaction(error)): void {
    if (this.stopped) return;
    this.watch = null;
    const compacted = relist;
    this.listener.onError(new Error(`Watch on ${this.prefix} ended (${error.message}); ${compacted ? "listing again" : `resuming from revision ${this.revision + 1}`}`, { cause: error }));
    this.retryTimer = setTimeout(() => void this.resume(compacted), this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, MIRROR_RETRY_MAX_MS);
  }

  private async resume(relist: boolean): Promise<void> {
    this.retryTimer = null;
    if (this.stopped) return;
    if (relist) {
      try {
        await this.list();
      } catch (err) {
        // Keep the copy as it is: a store that cannot answer now is no reason to stop routing.
        this.onWatchError(err instanceof Error ? err : new Error(String(err)), true);
        return;
      }
      if (this.stopped) return;
      this.listener.onChange();
    }
    this.startWatch();
  }
}

/** A watch that cannot resume because the history it needs is compacted away. */
function isCompaction(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "compacted" || /compact/i.test(error.message);
}
