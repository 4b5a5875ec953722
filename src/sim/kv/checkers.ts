// The KV checkers. Called as entries apply (revisions monotonic per node and equal per index, the
// same store at the same applied index, each lease removed at most once per node with its keys
// gone) and once the cluster has settled (revisions in real-time order, watch streams against the
// MVCC history, lease expiry never earlier than TTL after an acknowledged grant or keep-alive,
// linearizability of the register history).
import type { ApplyOutput, KeyRange, KvStore, LeaseId, WatchEvent } from "../../kv/store.js";
import { inRange } from "../../kv/store.js";
import { checkLinearizable } from "../linearizability/checker.js";
import { kvRegisterModel, describeKvOp } from "./model.js";
import type { KvHistoryOp, KvWorkload, RevisionObservation } from "./workload.js";
import { decodeValue } from "./workload.js";

/** The properties checked. */
export type KvCheckerName =
  | "revision-monotonic" | "revision-real-time" | "same-state" | "watch-order" | "lease-once"
  | "lease-early-expiry" | "lease-revived" | "lease-keys" | "linearizability" | "outcome" | "durability" | "liveness" | "core-invariant";

/** A broken property. */
export interface KvViolation {
  readonly checker: KvCheckerName;
  readonly message: string;
  readonly timeUs: number;
}

/** Thrown to end a schedule at its first violation. */
export class KvViolationFound extends Error {
  constructor(readonly violation: KvViolation) {
    super(`${violation.checker}: ${violation.message}`);
    this.name = "KvViolationFound";
  }
}

/** Compare the whole store state every this many applied indexes. */
export const STATE_SAMPLE_EVERY = 8;
/** Search steps the linearizability check may take per key. */
export const LINEARIZABILITY_STEPS_PER_KEY = 1_000_000;
/** Every key the simulated clients use is at or after "a". */
const ALL_KEYS = { key: "a", rangeEnd: "\0" } as const;

/** A 53-bit hash of bytes (two FNV-style lanes). */
export function hashBytes(bytes: Uint8Array): number {
  let a = 0x811c9dc5;
  let b = 0x1b873593;
  for (let i = 0; i < bytes.length; i++) {
    const x = bytes[i] as number;
    a = Math.imul(a ^ x, 0x01000193);
    b = Math.imul(b ^ x, 0x5bd1e995) ^ (b >>> 15);
  }
  return ((b >>> 0) % 0x200000) * 0x100000000 + (a >>> 0);
}

function describeEvent(e: WatchEvent | undefined): string {
  if (e === undefined) return "nothing";
  return `${e.type} ${e.kv.key}${e.type === "put" ? `=${decodeValue(e.kv.value)}` : ""} at revision ${e.kv.modRevision}`;
}

/** The checkers of one schedule. */
export class KvChecker {
  now = 0;
  private readonly revisionAt = new Map<number, number>();
  /**
   * The key changes of each index, as first applied anywhere: the whole MVCC history, which
   * compaction cannot take away (every index is applied somewhere, if only by a snapshot's maker).
   */
  private readonly eventsAt = new Map<number, readonly WatchEvent[]>();
  private readonly stateAt = new Map<number, number>();
  /** Per node: lease id -> index of the entry that removed it. */
  private readonly removedAt = new Map<number, Map<LeaseId, number>>();
  /** First application anywhere of each lease's removal. */
  readonly firstRemoval = new Map<LeaseId, { readonly timeUs: number; readonly expired: boolean }>();
  /** Term of the entry applied at each index (first application anywhere). */
  private readonly termAt = new Map<number, number>();
  /** Proposals answered with a retryable refusal, by index: that entry must never apply. */
  private readonly retryableAt = new Map<number, { readonly node: number; readonly term: number; readonly code: string }>();
  /** Values some node applied (a timed-out write that no node applied never happened). */
  readonly appliedValues = new Set<number>();

  /** Throws the violation. */
  report(checker: KvCheckerName, message: string): never {
    throw new KvViolationFound({ checker, message, timeUs: this.now });
  }

  /** After every applied entry on any node. */
  onApplied(node: number, kv: KvStore, out: ApplyOutput, term: number, revisionBefore: number): void {
    this.onEntryTerm(node, out.index, term);
    const rev = kv.revision;
    if (rev < revisionBefore) this.report("revision-monotonic", `node ${node} went from revision ${revisionBefore} back to ${rev} applying index ${out.index}`);
    const known = this.revisionAt.get(out.index);
    if (known === undefined) {
      this.revisionAt.set(out.index, rev);
      if (out.events.length > 0) this.eventsAt.set(out.index, out.events);
    } else if (known !== rev) this.report("revision-monotonic", `node ${node} is at revision ${rev} after index ${out.index}, another node was at ${known}`);
    if (out.index % STATE_SAMPLE_EVERY === 0) this.compareState(node, kv);
    for (const e of out.events) if (e.type === "put") this.appliedValues.add(decodeValue(e.kv.value));
    for (const c of out.leaseChanges) {
      if (c.type !== "removed") continue;
      let mine = this.removedAt.get(node);
      if (mine === undefined) this.removedAt.set(node, (mine = new Map()));
      const before = mine.get(c.id);
      if (before !== undefined && before !== out.index) this.report("lease-once", `node ${node} removed lease ${c.id} at index ${before} and again at ${out.index}`);
      mine.set(c.id, out.index);
      if (!this.firstRemoval.has(c.id)) this.firstRemoval.set(c.id, { timeUs: this.now, expired: out.result.ok && out.result.type === "leaseExpire" });
      if (kv.lease(c.id) !== undefined) this.report("lease-keys", `node ${node} still has lease ${c.id} after removing it`);
      const r = kv.range(ALL_KEYS);
      if (r.ok) {
        const left = r.kvs.find((k) => k.lease === c.id);
        if (left !== undefined) this.report("lease-keys", `node ${node} still has key ${left.key} attached to lease ${c.id} after its removal at index ${out.index}`);
      }
    }
  }

  /**
   * The outcome checker: every answer the node core gives a proposal placed at (index, term) must
   * agree with what finally applied at that index. "ok" only for the entry that applied there; a
   * retryable refusal only for an entry that can never apply there (it is compared again when the
   * index applies later); "unknown_outcome" may go either way.
   */
  onProposalAnswered(node: number, index: number, term: number, code: string, retryable: boolean): void {
    const applied = this.termAt.get(index);
    if (code === "ok") {
      if (applied !== term) this.report("outcome", `node ${node} answered ok for its proposal at index ${index} term ${term}, but the entry applied there has term ${applied ?? "none yet"}`);
      return;
    }
    if (!retryable) return;
    if (applied === term) this.report("outcome", `node ${node} answered ${code} (retryable) for its proposal at index ${index} term ${term}, which had already applied`);
    this.retryableAt.set(index, { node, term, code });
  }

  private onEntryTerm(node: number, index: number, term: number): void {
    const known = this.termAt.get(index);
    if (known === undefined) this.termAt.set(index, term);
    const refused = this.retryableAt.get(index);
    if (refused !== undefined && refused.term === term) {
      this.report("outcome", `node ${refused.node} answered ${refused.code} (retryable) for its proposal at index ${index} term ${term}, but node ${node} applied that entry: a client retry would apply it twice`);
    }
  }

  /** Compares a node's whole store with what other nodes had at the same applied index. */
  compareState(node: number, kv: KvStore): void {
    const h = hashBytes(kv.snapshot());
    const known = this.stateAt.get(kv.appliedIndex);
    if (known === undefined) this.stateAt.set(kv.appliedIndex, h);
    else if (known !== h) this.report("same-state", `node ${node}'s store at applied index ${kv.appliedIndex} differs from another node's at the same index`);
  }

  /** Every key still attached to a lease names a live lease. */
  checkLeaseKeys(node: number, kv: KvStore): void {
    const r = kv.range(ALL_KEYS);
    if (!r.ok) return;
    for (const k of r.kvs) {
      if (k.lease !== 0 && kv.lease(k.lease) === undefined) this.report("lease-keys", `node ${node} has key ${k.key} attached to lease ${k.lease}, which is gone`);
    }
  }

  /** Checks everything the clients saw, once the cluster settled; `reference` is the settled leader's store. */
  checkFinal(workload: KvWorkload): { linearizabilityUndecided: boolean } {
    const undecided = this.checkLinearizable(workload.history);
    this.checkWatches(workload);
    this.checkLeaseTiming(workload);
    this.checkRealTimeRevisions(workload.revisions);
    return { linearizabilityUndecided: undecided };
  }

  private checkRealTimeRevisions(obs: readonly RevisionObservation[]): void {
    const byAck = obs.slice().sort((x, y) => x.ackUs - y.ackUs);
    const byInvoke = obs.slice().sort((x, y) => x.invokeUs - y.invokeUs);
    let i = 0;
    let max: RevisionObservation | null = null;
    for (const op of byInvoke) {
      while (i < byAck.length && (byAck[i] as RevisionObservation).ackUs < op.invokeUs) {
        const a = byAck[i++] as RevisionObservation;
        if (max === null || a.revision > max.revision) max = a;
      }
      if (max === null) continue;
      const bad = op.wrote ? op.revision <= max.revision : op.revision < max.revision;
      if (bad) {
        this.report("revision-real-time", `client ${op.clientId}'s ${op.what} invoked at ${op.invokeUs}us got revision ${op.revision}, but client ${max.clientId}'s ${max.what} was acknowledged at ${max.ackUs}us with revision ${max.revision}`);
      }
    }
  }

  /** Every change in `range` from `fromRevision` on, in order, as the cluster applied them. */
  history(fromRevision: number, range: KeyRange): WatchEvent[] {
    const out: WatchEvent[] = [];
    for (const index of [...this.eventsAt.keys()].sort((x, y) => x - y)) {
      for (const e of this.eventsAt.get(index) as readonly WatchEvent[]) {
        if (e.kv.modRevision >= fromRevision && inRange(range, e.kv.key)) out.push(e);
      }
    }
    return out;
  }

  private checkWatches(workload: KvWorkload): void {
    for (const w of workload.watches) {
      const expected = this.history(w.startRevision, w.range);
      for (let i = 0; i < w.events.length; i++) {
        const got = w.events[i] as WatchEvent;
        const want = expected[i];
        const same = want !== undefined && got.type === want.type && got.kv.key === want.kv.key && got.kv.modRevision === want.kv.modRevision
          && got.kv.version === want.kv.version && decodeValue(got.kv.value) === decodeValue(want.kv.value);
        if (!same) {
          this.report("watch-order", `watch client ${w.clientId} (from revision ${w.startRevision}) got ${describeEvent(got)} as its event #${i + 1}, the history has ${describeEvent(want)} there`);
        }
      }
    }
  }

  private checkLeaseTiming(workload: KvWorkload): void {
    for (const [id, removal] of this.firstRemoval) {
      const rec = workload.leaseRecords.get(id);
      if (rec === undefined) continue;
      // Once a removal applied somewhere it is committed: a keep-alive sent later reads past it.
      const late = rec.ackedAtUs.find((at) => at > removal.timeUs);
      if (late !== undefined) this.report("lease-revived", `a keep-alive of lease ${id} sent at ${late}us was acknowledged, but the lease was removed at ${removal.timeUs}us`);
      if (!removal.expired) continue;
      for (const at of rec.ackedAtUs) {
        if (at < removal.timeUs && removal.timeUs < at + rec.ttlMs * 1000) {
          this.report("lease-early-expiry", `lease ${id} (TTL ${rec.ttlMs}ms) expired at ${removal.timeUs}us, only ${((removal.timeUs - at) / 1000).toFixed(1)}ms after a grant or keep-alive sent at ${at}us was acknowledged`);
        }
      }
    }
  }

  /** True when the search hit its bound (no verdict). */
  private checkLinearizable(history: readonly KvHistoryOp[]): boolean {
    const checked = history.filter((op) => op.output !== null || op.input.kind === "read" || op.input.kind === "delete" || this.appliedValues.has(op.input.value));
    const lin = checkLinearizable(kvRegisterModel, checked, { maxStepsPerKey: LINEARIZABILITY_STEPS_PER_KEY });
    if (lin.verdict !== "illegal") return lin.verdict === "unknown";
    const b = lin.blocking;
    const where = b === null ? "" : `: cannot linearize past client ${b.clientId} ${describeKvOp(b.input, b.output)} called at ${b.callTime}us`;
    this.report("linearizability", `the history of key "${String(lin.key)}" is not linearizable (${checked.length} operations)${where}`);
  }
}
