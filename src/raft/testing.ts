// A tiny deterministic in-memory cluster for Raft scenario tests: nodes with durable storage,
// messages delivered in rounds, links that can be cut, crashes and restarts. No timers: time moves
// only through tick().
import type {
  ConfState, Entry, HardState, Message, NodeId, RaftMutant, ReadState, Ready, Snapshot,
} from "./types.js";
import { NO_NODE, nodeId } from "./types.js";
import type { RaftConfig } from "./config.js";
import { Raft } from "./core.js";
import { assert } from "./assert.js";

/** What one node has made durable. */
export interface TestStorage {
  hardState: HardState;
  snapshot: Snapshot | null;
  entries: Entry[];
}

/** Options of a test cluster. */
export interface TestNetworkOptions {
  readonly voters: readonly number[];
  readonly learners?: readonly number[];
  readonly config?: Partial<Omit<RaftConfig, "id" | "randomInt" | "mutants">>;
  readonly mutants?: readonly RaftMutant[];
  readonly seed?: number;
}

/** Most delivery rounds stabilize() runs before it gives up (a livelock in a test). */
export const MAX_STABILIZE_ROUNDS = 10_000;

/** A small seeded generator (mulberry32) so election timeouts are reproducible. */
export function seededRandomInt(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return Math.floor(r * n);
  };
}

/** Default settings used by tests. */
export const TEST_CONFIG: Omit<RaftConfig, "id" | "randomInt"> = {
  electionTicks: 10,
  heartbeatTicks: 1,
  maxEntriesPerAppend: 64,
  maxBytesPerAppend: 1 << 20,
  maxInflightAppends: 16,
  maxUncommittedEntries: 1000,
  preVote: true,
  checkQuorum: true,
};

/** An in-memory cluster of Raft nodes driven by ticks and message rounds. */
export class TestNetwork {
  readonly nodes = new Map<NodeId, Raft>();
  readonly storage = new Map<NodeId, TestStorage>();
  /** Entries applied at each index per node (entries covered by a snapshot are absent). */
  readonly applied = new Map<NodeId, Map<number, Entry>>();
  /** Snapshots received from a leader and applied, in order. */
  readonly snapshotsApplied: { id: NodeId; index: number }[] = [];
  readonly readStates = new Map<NodeId, ReadState[]>();
  /** Every message delivered, in order (while recordDelivered is true). */
  readonly delivered: Message[] = [];
  recordDelivered = true;
  /** Messages for which this returns true are dropped. */
  dropIf: ((m: Message) => boolean) | null = null;
  /** Called with every Ready before the harness persists it (for assertions on Ready contents). */
  onReady: ((id: NodeId, rd: Ready) => void) | null = null;
  private inFlight: Message[] = [];
  private readonly cutLinks = new Set<string>();
  private readonly bootstrap = new Map<NodeId, ConfState | null>();
  private readonly options: TestNetworkOptions;

  constructor(options: TestNetworkOptions) {
    this.options = options;
    const conf: ConfState = {
      voters: options.voters.map(nodeId),
      learners: (options.learners ?? []).map(nodeId),
    };
    for (const n of [...options.voters, ...(options.learners ?? [])]) this.addNode(nodeId(n), conf);
  }

  /** Starts a fresh node with empty storage (bootstrap membership or none when it joins later). */
  addNode(id: NodeId, bootstrap: ConfState | null, storage?: TestStorage): Raft {
    this.bootstrap.set(id, bootstrap);
    this.storage.set(id, storage ?? { hardState: { term: 0, vote: NO_NODE, commit: 0 }, snapshot: null, entries: [] });
    this.applied.set(id, new Map());
    this.readStates.set(id, []);
    return this.start(id);
  }

  /** The settings node `id` runs with. */
  configFor(id: NodeId): RaftConfig {
    return {
      ...TEST_CONFIG,
      ...this.options.config,
      id,
      randomInt: seededRandomInt((this.options.seed ?? 1) * 1000 + id),
      mutants: new Set(this.options.mutants ?? []),
    };
  }

  private start(id: NodeId): Raft {
    const s = this.storage.get(id);
    assert(s !== undefined, `No storage for node ${id}`);
    const raft = new Raft(this.configFor(id), {
      hardState: s.hardState, snapshot: s.snapshot, entries: [...s.entries], bootstrap: this.bootstrap.get(id) ?? null,
    });
    this.nodes.set(id, raft);
    return raft;
  }

  /** The node `id` (must be running). */
  node(id: number): Raft {
    const r = this.nodes.get(id as NodeId);
    assert(r !== undefined, `Node ${id} is not running`);
    return r;
  }

  /** Stops node `id`, losing nothing that was persisted (a Ready is processed atomically here). */
  crash(id: number): void {
    this.nodes.delete(id as NodeId);
  }

  /** Restarts node `id` from its durable storage. */
  restart(id: number): Raft {
    this.applied.set(id as NodeId, new Map());
    return this.start(id as NodeId);
  }

  /** Cuts the links between `a` and `b` in both directions. */
  cut(a: number, b: number): void {
    this.cutLinks.add(`${a}>${b}`);
    this.cutLinks.add(`${b}>${a}`);
  }

  /** Cuts `id` off from every other node. */
  isolate(id: number): void {
    for (const other of this.allIds()) if (other !== id) this.cut(id, other);
  }

  /** Restores every link. */
  heal(): void {
    this.cutLinks.clear();
  }

  private allIds(): NodeId[] {
    return [...this.storage.keys()];
  }

  /** Handles one Ready of node `id` like a correct shell: persist, then send, then apply, then advance. */
  processReady(id: NodeId): boolean {
    const raft = this.nodes.get(id);
    if (raft === undefined || !raft.hasReady()) return false;
    const rd = raft.ready();
    if (this.onReady !== null) this.onReady(id, rd);
    const s = this.storage.get(id) as TestStorage;
    if (rd.snapshot !== null) {
      s.snapshot = rd.snapshot;
      s.entries = [];
    }
    const first = rd.entries[0];
    if (first !== undefined) {
      s.entries = s.entries.filter((e) => e.index < first.index).concat(rd.entries);
    }
    if (rd.hardState !== null) s.hardState = rd.hardState;
    this.inFlight.push(...rd.messages);
    const applied = this.applied.get(id) as Map<number, Entry>;
    if (rd.snapshot !== null) this.snapshotsApplied.push({ id, index: rd.snapshot.meta.index });
    for (const e of rd.committedEntries) applied.set(e.index, e);
    (this.readStates.get(id) as ReadState[]).push(...rd.readStates);
    raft.advance(rd);
    return true;
  }

  /** Processes every pending Ready of every running node. */
  flush(): void {
    let again = true;
    while (again) {
      again = false;
      for (const id of [...this.nodes.keys()].sort((a, b) => a - b)) if (this.processReady(id)) again = true;
    }
  }

  /** True when message `m` would be dropped now. */
  private dropped(m: Message): boolean {
    return !this.nodes.has(m.to) || this.cutLinks.has(`${m.from}>${m.to}`)
      || (this.dropIf !== null && this.dropIf(m));
  }

  /** Delivers the messages in flight now (one round); returns how many were delivered. */
  deliver(): number {
    const batch = this.inFlight;
    this.inFlight = [];
    let n = 0;
    for (const m of batch) {
      if (this.dropped(m)) continue;
      if (this.recordDelivered) this.delivered.push(m);
      this.node(m.to).step(m);
      n++;
    }
    return n;
  }

  /** Messages waiting for delivery. */
  inFlightCount(): number {
    return this.inFlight.length;
  }

  /**
   * Delivers the messages in flight in the order `order` gives, each as `fate` decides: delivered,
   * kept for later, dropped or delivered twice. For randomized schedules.
   */
  deliverSome(fate: (m: Message) => "deliver" | "keep" | "drop" | "duplicate", order: (ms: Message[]) => Message[]): void {
    const batch = order(this.inFlight);
    this.inFlight = [];
    for (const m of batch) {
      const f = fate(m);
      if (f === "keep") this.inFlight.push(m);
      if (f === "drop" || f === "keep" || this.dropped(m)) continue;
      if (this.recordDelivered) this.delivered.push(m);
      this.node(m.to).step(m);
      if (f === "duplicate") this.node(m.to).step(m);
    }
  }

  /** Drops every message in flight. */
  dropInFlight(): void {
    this.inFlight = [];
  }

  /** Runs Readies and message rounds until nothing moves. */
  stabilize(): void {
    for (let round = 0; round < MAX_STABILIZE_ROUNDS; round++) {
      this.flush();
      if (this.inFlight.length === 0) return;
      this.deliver();
    }
    assert(false, `Network did not stabilize within ${MAX_STABILIZE_ROUNDS} rounds`);
  }

  /** Ticks every running node `n` times, stabilizing after each tick. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const raft of this.nodes.values()) raft.tick();
      this.stabilize();
    }
  }

  /** Ticks one node `n` times, stabilizing after each tick. */
  tick(id: number, n = 1): void {
    for (let i = 0; i < n; i++) {
      this.node(id).tick();
      this.stabilize();
    }
  }

  /** Makes `id` campaign and runs the election to completion. */
  elect(id: number): void {
    this.node(id).campaign();
    this.stabilize();
    assert(this.node(id).status().role === "leader", `Node ${id} failed to become leader`);
  }

  /** The leader of the highest term among running nodes, or null. */
  leader(): NodeId | null {
    let best: NodeId | null = null;
    let bestTerm = -1;
    for (const [id, r] of this.nodes) {
      const st = r.status();
      if (st.role === "leader" && st.term > bestTerm) {
        best = id;
        bestTerm = st.term;
      }
    }
    return best;
  }

  /** All leaders among running nodes (election safety says at most one per term). */
  leaders(): NodeId[] {
    return [...this.nodes].filter(([, r]) => r.status().role === "leader").map(([id]) => id);
  }

  /** Proposes `text` on node `id` and stabilizes; returns the result. */
  propose(id: number, text: string): ReturnType<Raft["propose"]> {
    const result = this.node(id).propose(new TextEncoder().encode(text));
    this.stabilize();
    return result;
  }

  /** Texts of the normal, non-empty entries node `id` applied, in index order. */
  appliedTexts(id: number): string[] {
    const m = this.applied.get(id as NodeId) as Map<number, Entry>;
    return [...m.entries()].sort((a, b) => a[0] - b[0])
      .filter(([, e]) => e.type === "normal" && e.data.length > 0)
      .map(([, e]) => new TextDecoder().decode(e.data));
  }

  /** Takes a snapshot on node `id` at its applied index and compacts its log (like the app would). */
  compact(id: number, index?: number): Snapshot {
    const raft = this.node(id);
    const at = index ?? raft.status().applied;
    const snapshot: Snapshot = { meta: raft.snapshotMeta(at), data: new TextEncoder().encode(`state@${at}`) };
    raft.compact(snapshot);
    const s = this.storage.get(id as NodeId) as TestStorage;
    s.snapshot = snapshot;
    s.entries = s.entries.filter((e) => e.index > at);
    return snapshot;
  }
}

/** Builds entries with the given terms, starting at index `from`. */
export function entriesWithTerms(terms: readonly number[], from = 1): Entry[] {
  return terms.map((term, i) => ({ term, index: from + i, type: "normal", data: new TextEncoder().encode(`e${from + i}t${term}`) }));
}
