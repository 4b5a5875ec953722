// Test harness: a cluster of real `phalanx agent` processes on 127.0.0.1, each in its own temporary
// directory, so tests can kill -9, SIGSTOP and restart nodes. Every process is killed in close().
// It lives in src/testing/ (the top layer, above cli/, left out of the build) because it drives the
// CLI's own code (cluster files, `phalanx dev`'s helpers); nothing shipped may import it.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { PhalanxClient } from "../client/client.js";
import type { ClientOptions } from "../client/client.js";
import { writeClusterFiles } from "../cli/cluster-files.js";
import type { ClusterFileOptions, NodeSpec } from "../cli/cluster-files.js";
import { freePort, selfCommand, waitHealthy } from "../cli/commands/dev.js";
import type { NodeConfigInput } from "../server/node-config.js";
import type { ClusterCa } from "../pki/ca.js";

/** Timings for process tests: 25 ms ticks, elections after 250–500 ms. */
export const PROCESS_TEST_RAFT: NonNullable<NodeConfigInput["raft"]> = { tickMs: 25, electionTicks: 10, heartbeatTicks: 1, snapshotEveryEntries: 10_000 };
/** Longest a node may take to start and see a leader (slow CI machines included). */
export const START_DEADLINE_MS = 60_000;

interface NodeProcess {
  readonly spec: NodeSpec;
  readonly configFile: string;
  child: ChildProcess | null;
}

/** A running cluster of agent processes. */
export class ProcessCluster {
  private constructor(
    readonly root: string,
    readonly token: string,
    readonly joinToken: string,
    private readonly nodes: Map<number, NodeProcess>,
    readonly ca: ClusterCa,
    /** Token for cluster operations (members, transfer, snapshot). */
    readonly adminToken: string,
  ) {}

  private readonly joined: NodeProcess[] = [];

  /** `configExtra`: top-level sections merged into node `id`'s config file before it starts (e.g. `fronts`). */
  static async start(size: number, raft: NodeConfigInput["raft"] = PROCESS_TEST_RAFT, options: ClusterFileOptions & { configExtra?: (id: number) => Partial<NodeConfigInput> } = {}): Promise<ProcessCluster> {
    const root = await mkdtemp(join(tmpdir(), "phalanx-procs-"));
    const specs: NodeSpec[] = [];
    for (let i = 1; i <= size; i++) {
      const peer = `127.0.0.1:${await freePort()}`;
      const client = `127.0.0.1:${await freePort()}`;
      specs.push({ id: i, name: `n${i}`, peerListen: peer, peerAdvertise: peer, clientListen: client, clientAdvertise: client });
    }
    const files = await writeClusterFiles(root, specs, raft, options);
    if (options.configExtra !== undefined) {
      for (const [id, file] of files.configFiles) await writeFile(file, stringify({ ...(parse(await readFile(file, "utf8")) as object), ...options.configExtra(id) }));
    }
    const nodes = new Map(specs.map((spec) => [spec.id, { spec, configFile: files.configFiles.get(spec.id)!, child: null } as NodeProcess]));
    const cluster = new ProcessCluster(root, files.clientToken, files.joinToken, nodes, files.ca, files.adminToken);
    try {
      for (const id of nodes.keys()) cluster.spawn(id);
      // A TLS client port is probed by the test's own TLS client instead. A node that exits while
      // the others start fails the start at once, with its log (not a 60 s "no leader" later).
      const exited = cluster.exitDuringStart();
      exited.catch(() => undefined); // a node stopped later (a test's kill, close()) is no start failure
      if (options.clientTls !== true) await Promise.race([waitHealthy(specs.map((s) => s.clientAdvertise), START_DEADLINE_MS), exited]);
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  /** Rejects when any node exits before start() is done, naming it and quoting its log's end. */
  private exitDuringStart(): Promise<never> {
    return new Promise((_resolve, reject) => {
      for (const node of this.nodes.values()) {
        node.child?.once("exit", (code, signal) => {
          let tail = "";
          try {
            tail = readFileSync(join(this.root, node.spec.name, "agent.log"), "utf8").split("\n").slice(-15).join("\n");
          } catch {
            // No log: the message still names the node and its exit.
          }
          reject(new Error(`Node ${node.spec.name} (${node.spec.clientAdvertise}) exited during start (code ${code}, signal ${signal}):\n${tail}`));
        });
      }
    });
  }

  private spawn(id: number): void {
    const node = this.nodes.get(id)!;
    const self = selfCommand();
    const log = openSync(join(this.root, node.spec.name, "agent.log"), "a");
    node.child = spawn(self.cmd, [...self.args, "agent", "--config", node.configFile], { stdio: ["ignore", log, log] });
    closeSync(log);
  }

  /** Client addresses of every node (or of `ids`). */
  endpoints(ids?: readonly number[]): string[] {
    return [...this.nodes.values()].filter((n) => ids === undefined || ids.includes(n.spec.id)).map((n) => n.spec.clientAdvertise);
  }

  /** A client of the cluster; the caller closes it. */
  client(options: Partial<ClientOptions> = {}): PhalanxClient {
    return new PhalanxClient({ endpoints: this.endpoints(), token: this.token, ...options });
  }

  /** The id of the node every reachable node agrees leads, polling until `deadlineMs`. */
  async leader(deadlineMs = START_DEADLINE_MS, among?: readonly number[]): Promise<number> {
    const start = Date.now();
    const ids = among ?? [...this.nodes.keys()];
    for (;;) {
      const views = await Promise.all(ids.map((id) => this.statusOf(id)));
      const leaders = new Set(views.filter((v) => v !== null).map((v) => v!.leader));
      const self = views.find((v) => v !== null && v.role === "leader");
      if (self && leaders.size === 1) return Number(self.id);
      if (Date.now() - start > deadlineMs) throw new Error(`No single leader among ${ids.join(",")} after ${deadlineMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** A node's own status, or null when it does not answer within a second. */
  async statusOf(id: number): Promise<{ id: number; role: string; leader: number; term: number; commit: number; applied: number } | null> {
    const node = this.nodes.get(id)!;
    try {
      const r = await fetch(`http://${node.spec.clientAdvertise}/v3/phalanx/status`, { headers: { authorization: `Bearer ${this.token}` }, signal: AbortSignal.timeout(1000) });
      return r.status === 200 ? ((await r.json()) as { id: number; role: string; leader: number; term: number; commit: number; applied: number }) : null;
    } catch {
      return null;
    }
  }

  /**
   * Adds a node with `phalanx join` through node `via`'s client address, as an operator would;
   * returns its client address. The new node's id is assigned by the cluster.
   */
  async join(name: string, via: number): Promise<string> {
    const peer = `127.0.0.1:${await freePort()}`;
    const client = `127.0.0.1:${await freePort()}`;
    const dir = join(this.root, name);
    const self = selfCommand();
    await mkdir(dir, { recursive: true });
    const log = openSync(join(dir, "agent.log"), "a");
    const child = spawn(self.cmd, [...self.args, "join", this.nodes.get(via)!.spec.clientAdvertise, "--token", this.joinToken, "--dir", dir, "--name", name, "--peer-listen", peer, "--client-listen", client], { stdio: ["ignore", log, log] });
    closeSync(log);
    const spec: NodeSpec = { id: -1 - this.joined.length, name, peerListen: peer, peerAdvertise: peer, clientListen: client, clientAdvertise: client };
    this.joined.push({ spec, configFile: join(dir, "config.yaml"), child });
    await waitHealthy([client], START_DEADLINE_MS);
    return client;
  }

  /** The directory of node `id` (its config, data and agent.log). */
  nodeDir(id: number): string {
    return join(this.root, this.nodes.get(id)!.spec.name);
  }

  /** The process id of a node's agent (to reach its descendants: instances, watchdogs). */
  pid(id: number): number {
    const pid = this.nodes.get(id)?.child?.pid;
    if (pid === undefined) throw new Error(`Node ${id} is not running`);
    return pid;
  }

  /** Sends a signal to a node's process. */
  signal(id: number, signal: NodeJS.Signals): void {
    const child = this.nodes.get(id)?.child;
    if (!child?.pid) throw new Error(`Node ${id} is not running`);
    process.kill(child.pid, signal);
  }

  /** kill -9 and wait for the process to be gone. */
  async kill(id: number): Promise<void> {
    const node = this.nodes.get(id)!;
    const child = node.child;
    if (child === null) return;
    const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    node.child = null;
  }

  /** Starts a killed node again from its data directory and waits until it sees a leader. */
  async restart(id: number): Promise<void> {
    this.spawn(id);
    await waitHealthy([this.nodes.get(id)!.spec.clientAdvertise], START_DEADLINE_MS);
  }

  /** The last lines of a node's log (for failure messages). */
  logTail(id: number, lines = 20): string {
    const node = this.nodes.get(id)!;
    try {
      return readFileSync(join(this.root, node.spec.name, "agent.log"), "utf8").trim().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  async close(): Promise<void> {
    for (const j of this.joined) j.child?.kill("SIGKILL");
    for (const id of this.nodes.keys()) {
      const child = this.nodes.get(id)!.child;
      if (child !== null) {
        try {
          process.kill(child.pid!, "SIGCONT");
        } catch {
          // already gone
        }
      }
      await this.kill(id);
    }
    // PHALANX_TEST_KEEP_DIR=1 keeps the nodes' directories (agent.log) to look at a failure.
    if (process.env.PHALANX_TEST_KEEP_DIR === undefined) await rm(this.root, { recursive: true, force: true });
    else process.stderr.write(`kept ${this.root}\n`);
  }
}
