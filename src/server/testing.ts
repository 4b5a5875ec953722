// Test harness: a cluster of replicas in one process, on the in-memory transport and real storage
// in a temporary directory. Used by the server's tests; the real-process tests use
// src/testing/process-cluster.ts.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { nodeId } from "../raft/raft.js";
import type { NodeId } from "../raft/raft.js";
import { openStorage } from "../storage/storage.js";
import type { Storage } from "../storage/storage.js";
import { MemoryNetwork } from "../transport/memory.js";
import type { MemoryTransport } from "../transport/memory.js";
import { Replica } from "./replica.js";
import type { ReplicaTuning } from "./replica.js";

/** Fast timings for tests: 10 ms ticks, elections after 100–200 ms. */
export const TEST_TUNING: Partial<ReplicaTuning> = { tickMs: 10, electionTicks: 10, heartbeatTicks: 1, proposalTimeoutMs: 3000, readTimeoutMs: 1000 };

interface Member {
  readonly id: NodeId;
  replica: Replica;
  storage: Storage;
  transport: MemoryTransport;
  readonly dir: string;
}

/** An in-process cluster of `size` voters. */
export class LocalCluster {
  readonly network = new MemoryNetwork();
  readonly members = new Map<NodeId, Member>();

  private constructor(
    readonly root: string,
    private readonly voters: NodeId[],
    private readonly tuning: Partial<ReplicaTuning>,
  ) {}

  static async start(size: number, tuning: Partial<ReplicaTuning> = TEST_TUNING): Promise<LocalCluster> {
    const root = await mkdtemp(join(tmpdir(), "phalanx-replica-"));
    const voters = Array.from({ length: size }, (_, i) => nodeId(i + 1));
    const cluster = new LocalCluster(root, voters, tuning);
    for (const id of voters) await cluster.startNode(id);
    return cluster;
  }

  /** Starts (or restarts) node `id` from its data directory. */
  async startNode(id: NodeId): Promise<Replica> {
    const dir = join(this.root, `n${id}`);
    const { storage, restored } = await openStorage(dir, { bootstrap: { voters: this.voters, learners: [] } });
    const transport = this.network.createTransport(id);
    for (const peer of this.voters) if (peer !== id) transport.addPeer(peer, `memory://${peer}`);
    const replica = new Replica({ id, storage, restored, transport, logger: pino({ level: "silent" }), tuning: this.tuning });
    this.members.set(id, { id, replica, storage, transport, dir });
    replica.start();
    return replica;
  }

  /** Stops node `id` as a crash would (nothing flushed beyond what the storage already made durable). */
  async stopNode(id: NodeId): Promise<void> {
    const m = this.members.get(id);
    if (m === undefined) return;
    m.replica.stop();
    await m.transport.close();
    await m.storage.close().catch(() => undefined);
    this.members.delete(id);
  }

  replica(id: NodeId): Replica {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`Node ${id} is not running`);
    return m.replica;
  }

  /** Waits until the running nodes agree on one leader; returns it. */
  async waitForLeader(deadlineMs = 10_000): Promise<Replica> {
    return pollUntil(() => {
      const leaders = [...this.members.values()].filter((m) => m.replica.status().role === "leader");
      if (leaders.length !== 1) return undefined;
      const leader = leaders[0]!.replica;
      const agreed = [...this.members.values()].every((m) => m.replica.leaderId === leader.id);
      return agreed ? leader : undefined;
    }, deadlineMs, "a single leader");
  }

  async close(): Promise<void> {
    for (const id of [...this.members.keys()]) await this.stopNode(id);
    await rm(this.root, { recursive: true, force: true });
  }
}

/** Polls `probe` every 5 ms until it returns a value, or fails after `deadlineMs` naming `what`. */
export async function pollUntil<T>(probe: () => T | undefined, deadlineMs: number, what: string): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() - start > deadlineMs) throw new Error(`Timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
