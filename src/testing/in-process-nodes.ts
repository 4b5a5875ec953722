// Test harness: a cluster of full nodes (startNode: TLS peer transport, client API, alerts, services)
// in this process, on 127.0.0.1 ephemeral ports in a temporary directory. Unlike ProcessCluster it
// can hand a node options a process cannot take, such as a wall clock with an offset.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { writeClusterFiles } from "../cli/cluster-files.js";
import type { ClusterFileOptions, ClusterFiles, NodeSpec } from "../cli/cluster-files.js";
import { freePort } from "../cli/commands/dev.js";
import { startNode } from "../server/agent.js";
import type { RunningNode, StartNodeOptions } from "../server/agent.js";
import { loadNodeConfig } from "../server/node-config.js";
import type { NodeConfigInput } from "../server/node-config.js";
import { PROCESS_TEST_RAFT } from "./process-cluster.js";

/** Full nodes in this process. */
export class InProcessNodes {
  private constructor(readonly root: string, readonly files: ClusterFiles, readonly nodes: Map<number, RunningNode>) {}

  /** Starts `size` nodes; `nodeOptions(id)` adds startNode options (e.g. wallClockMs). */
  static async start(size: number, options: ClusterFileOptions & { raft?: NodeConfigInput["raft"]; nodeOptions?: (id: number) => StartNodeOptions } = {}): Promise<InProcessNodes> {
    const root = await mkdtemp(join(tmpdir(), "phalanx-nodes-"));
    const cluster = new InProcessNodes(root, await InProcessNodes.files(root, size, options), new Map());
    try {
      for (const [id, file] of cluster.files.configFiles) {
        cluster.nodes.set(id, await startNode(await loadNodeConfig(file), pino({ level: "silent" }), options.nodeOptions?.(id) ?? {}));
      }
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  private static async files(root: string, size: number, options: ClusterFileOptions & { raft?: NodeConfigInput["raft"] }): Promise<ClusterFiles> {
    const specs: NodeSpec[] = [];
    for (let i = 1; i <= size; i++) {
      const peer = `127.0.0.1:${await freePort()}`;
      const client = `127.0.0.1:${await freePort()}`;
      specs.push({ id: i, name: `n${i}`, peerListen: peer, peerAdvertise: peer, clientListen: client, clientAdvertise: client });
    }
    return writeClusterFiles(root, specs, options.raft ?? PROCESS_TEST_RAFT, options);
  }

  /** Client addresses of every node. */
  endpoints(): string[] {
    return [...this.nodes.values()].map((n) => n.clientAddress);
  }

  /** The node every running node agrees leads, or undefined. */
  leader(): number | undefined {
    const views = [...this.nodes.values()].map((n) => n.replica.status());
    const leaders = new Set(views.map((v) => v.leader));
    const self = views.find((v) => v.role === "leader");
    return self !== undefined && leaders.size === 1 ? self.id : undefined;
  }

  async close(): Promise<void> {
    for (const n of this.nodes.values()) await n.stop().catch(() => undefined);
    await rm(this.root, { recursive: true, force: true });
  }
}
