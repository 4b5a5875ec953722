// Host harness: N hosts and M clients, each a network namespace with its own IP stack, plugged
// into one switch — a bridge in a namespace of its own — by a veth pair. Tests run real processes
// inside the hosts (`ip netns exec`) and break the network between them (partitions, one-way cuts,
// loss, enforced by an nftables table in the switch) or the processes themselves (kill -9,
// SIGSTOP/SIGCONT of one process or of everything on a host).
//
// Nothing lives in the machine's own namespace: no link, no address, no table. Every harness has
// its own switch, so all can use the same private range (10.231.0.0/24) without ever meeting, and
// removing the namespaces removes everything. Names are `phxh-<pid>-<n>-<node>`, so a later run
// can tell leftovers of a dead process (cleanupStale) from a parallel live one.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import type { TestContext } from "node:test";
import { NO_FAULTS, faultRuleset, isHealthy, validateFaults } from "./faults.js";
import type { FaultState } from "./faults.js";
import { cleanupStale, destroyNamespace, destroyNamespacesSync, namespacePids, probeHostSupport, run, signalPid, waitStopped } from "./netns.js";
import type { HostSupport } from "./netns.js";

/** Start of every namespace name a harness creates; cleanupStale() looks for it. */
export const NAMESPACE_PREFIX = "phxh-";
/** The private range every harness uses inside its own switch: hosts .11–.99, clients .101–.199. */
export const SUBNET_PREFIX = "10.231.0.";
export const SUBNET_BITS = 24;
/** The interface name of a node's end of its veth pair, in every host and client. */
export const NODE_INTERFACE = "eth0";
const MAX_HOSTS = 89;
const MAX_CLIENTS = 99;
const SWITCH_BRIDGE = "br0";
const FAULT_TABLE = "phalanx_faults";
/** Bytes of a process's output kept for failure messages. */
const OUTPUT_TAIL_BYTES = 64 * 1024;
/** Rounds of freezeNode() that look for processes forked while the others were being stopped. */
const FREEZE_ROUNDS_MAX = 10;

export interface HostNetOptions {
  /** Hosts h1..hN (N ≥ 1). */
  readonly hosts: number;
  /** Clients c1..cM (default 0): nodes like the hosts, named apart so tests read clearly. */
  readonly clients?: number;
  /** Start of the namespace names (default NAMESPACE_PREFIX); cleanupStale at start uses it too. */
  readonly namespacePrefix?: string;
}

/** One host or client: a namespace with one interface on the switch. */
export interface NetNode {
  /** "h1", "c1": also the name of its port on the switch. */
  readonly name: string;
  readonly kind: "host" | "client";
  /** The network namespace (`ip netns exec <namespace> ...`). */
  readonly namespace: string;
  /** Its IPv4 address on eth0, without prefix length. */
  readonly address: string;
}

/** A process started inside a node's namespace. */
export interface NodeProcess {
  readonly node: NetNode;
  readonly pid: number;
  /** stdin/stdout/stderr are pipes. */
  readonly child: ChildProcess;
  /** Settles when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last output (stdout and stderr interleaved) for failure messages. */
  output(): string;
}

const hasExited = (proc: NodeProcess): boolean => proc.child.exitCode !== null || proc.child.signalCode !== null;

let harnessCounter = 0;
let supportMemo: Promise<HostSupport> | null = null;

/** Whether host harnesses can run here (root, iproute2, nftables, namespaces); checked once. */
export function hostSupport(): Promise<HostSupport> {
  supportMemo ??= probeHostSupport(`${NAMESPACE_PREFIX}${process.pid}-probe`);
  return supportMemo;
}

/** The host harness. Create with HostNet.startOrSkip(t, ...) in tests; close() removes everything. */
export class HostNet {
  private faults: FaultState = NO_FAULTS;
  private readonly processes = new Set<NodeProcess>();
  private closed = false;
  private readonly onExit = (): void => destroyNamespacesSync(this.namespaces());
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.onExit();
    this.removeProcessHooks();
    // Re-raise for the default action (exit) unless someone else handles the signal.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };

  private constructor(
    /** `phxh-<pid>-<n>-`: start of every namespace of this harness. */
    readonly prefix: string,
    private readonly nodesByName: ReadonlyMap<string, NetNode>,
  ) {}

  /**
   * Starts a harness for test `t` and registers its cleanup with t.after; when this machine cannot
   * run one, marks `t` skipped with the reason and returns null (the test should return). With
   * PHALANX_HOSTS_REQUIRED=1 (CI, as root) it fails instead, so a broken setup is not a silent skip.
   */
  static async startOrSkip(t: TestContext, options: HostNetOptions): Promise<HostNet | null> {
    const support = await hostSupport();
    if (!support.ok) {
      if (process.env["PHALANX_HOSTS_REQUIRED"] === "1") throw new Error(`Host harness required (PHALANX_HOSTS_REQUIRED=1) but cannot run: ${support.reason}`);
      t.skip(`needs root and network namespaces: ${support.reason}`);
      return null;
    }
    const net = await HostNet.start(options);
    t.after(() => net.close());
    return net;
  }

  /** Builds the switch and the nodes. Throws if the machine cannot (see hostSupport()). */
  static async start(options: HostNetOptions): Promise<HostNet> {
    const clients = options.clients ?? 0;
    if (!Number.isInteger(options.hosts) || options.hosts < 1 || options.hosts > MAX_HOSTS) throw new Error(`Cannot start ${options.hosts} hosts: give 1 to ${MAX_HOSTS}`);
    if (!Number.isInteger(clients) || clients < 0 || clients > MAX_CLIENTS) throw new Error(`Cannot start ${clients} clients: give 0 to ${MAX_CLIENTS}`);
    const base = options.namespacePrefix ?? NAMESPACE_PREFIX;
    if (!/^[a-z][a-z0-9]{0,9}-$/.test(base)) throw new Error(`Cannot use namespace prefix "${base}": give 1–10 lowercase letters or digits and a trailing "-"`);
    await cleanupStale(base);
    const prefix = `${base}${process.pid}-${++harnessCounter}-`;
    const nodes = new Map<string, NetNode>();
    const add = (kind: NetNode["kind"], i: number): void => {
      const name = `${kind === "host" ? "h" : "c"}${i}`;
      nodes.set(name, { name, kind, namespace: `${prefix}${name}`, address: `${SUBNET_PREFIX}${(kind === "host" ? 10 : 100) + i}` });
    };
    for (let i = 1; i <= options.hosts; i++) add("host", i);
    for (let i = 1; i <= clients; i++) add("client", i);
    const net = new HostNet(prefix, nodes);
    net.installProcessHooks(); // before the first namespace exists, so none can be left behind
    try {
      await net.buildSwitch();
      for (const node of nodes.values()) await net.plug(node);
    } catch (err) {
      await net.close();
      throw err;
    }
    return net;
  }

  /** The switch's namespace: a bridge with one port per node, and the fault table. */
  get switchNamespace(): string {
    return `${this.prefix}sw`;
  }

  get hosts(): NetNode[] {
    return [...this.nodesByName.values()].filter((n) => n.kind === "host");
  }

  get clients(): NetNode[] {
    return [...this.nodesByName.values()].filter((n) => n.kind === "client");
  }

  node(name: string): NetNode {
    const node = this.nodesByName.get(name);
    if (node === undefined) throw new Error(`No node named "${name}": nodes are ${[...this.nodesByName.keys()].join(", ")}`);
    return node;
  }

  /** Every namespace this harness owns (some may not exist yet or any more). */
  namespaces(): string[] {
    return [this.switchNamespace, ...[...this.nodesByName.values()].map((n) => n.namespace)];
  }

  private async buildSwitch(): Promise<void> {
    const sw = this.switchNamespace;
    await run("ip", ["netns", "add", sw]);
    await run("ip", ["-n", sw, "link", "add", SWITCH_BRIDGE, "type", "bridge"]);
    await run("ip", ["-n", sw, "link", "set", SWITCH_BRIDGE, "up"]);
  }

  /** Creates a node's namespace and connects it to the switch: port `<name>` ↔ its eth0. */
  private async plug(node: NetNode): Promise<void> {
    const sw = this.switchNamespace;
    const ns = node.namespace;
    await run("ip", ["netns", "add", ns]);
    await run("ip", ["-n", sw, "link", "add", node.name, "type", "veth", "peer", "name", NODE_INTERFACE, "netns", ns]);
    await run("ip", ["-n", sw, "link", "set", node.name, "master", SWITCH_BRIDGE, "up"]);
    await run("ip", ["-n", ns, "addr", "add", `${node.address}/${SUBNET_BITS}`, "dev", NODE_INTERFACE]);
    await run("ip", ["-n", ns, "link", "set", NODE_INTERFACE, "up"]);
    await run("ip", ["-n", ns, "link", "set", "lo", "up"]);
  }

  /** Starts `cmd args` inside node `name`'s namespace; close() kills it if it still runs. */
  spawn(name: string, cmd: string, args: readonly string[] = [], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): NodeProcess {
    this.assertOpen();
    const node = this.node(name);
    // `ip netns exec` enters the namespace and then execs cmd, so the child's pid is cmd's pid.
    const child = spawn("ip", ["netns", "exec", node.namespace, cmd, ...args], { stdio: ["pipe", "pipe", "pipe"], env: options.env ?? process.env, cwd: options.cwd });
    if (child.pid === undefined) throw new Error(`Cannot start ${cmd} in ${name}: spawn gave no pid`);
    let tail = "";
    const keep = (chunk: Buffer): void => {
      tail = (tail + chunk.toString("utf8")).slice(-OUTPUT_TAIL_BYTES);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
    });
    const proc: NodeProcess = { node, pid: child.pid, child, exited, output: () => tail };
    this.processes.add(proc);
    void exited.then(() => this.processes.delete(proc));
    return proc;
  }

  /** Runs `cmd args` to completion inside node `name` (e.g. `arping`, `ip`); resolves with stdout. */
  async exec(name: string, cmd: string, args: readonly string[] = []): Promise<string> {
    this.assertOpen();
    return run("ip", ["netns", "exec", this.node(name).namespace, cmd, ...args]);
  }

  /** The IPv4 (or IPv6) addresses, without prefix length, on node `name`'s eth0: its own, plus any added (a VIP). */
  async addresses(name: string, family: 4 | 6 = 4): Promise<string[]> {
    const out = await run("ip", ["-n", this.node(name).namespace, "-j", `-${family}`, "addr", "show", "dev", NODE_INTERFACE]);
    const links = JSON.parse(out) as { addr_info?: { local?: string }[] }[];
    return links.flatMap((l) => l.addr_info ?? []).map((a) => a.local).filter((a): a is string => a !== undefined);
  }

  /** Node `name`'s MAC address on eth0. */
  async macAddress(name: string): Promise<string> {
    const out = await run("ip", ["-n", this.node(name).namespace, "-j", "link", "show", "dev", NODE_INTERFACE]);
    const mac = (JSON.parse(out) as { address?: string }[])[0]?.address;
    if (mac === undefined) throw new Error(`No MAC address on ${name}'s ${NODE_INTERFACE}: ${out}`);
    return mac;
  }

  /**
   * Node `name`'s neighbour (ARP) entry for `address`: the MAC it would send to and the entry's
   * state, or null when it has none. Lets a test see which host a client's traffic for a VIP reaches.
   */
  async neighbour(name: string, address: string): Promise<{ mac: string | null; state: string[] } | null> {
    const out = await run("ip", ["-n", this.node(name).namespace, "-j", "neigh", "show", "to", address, "dev", NODE_INTERFACE]);
    const entry = (JSON.parse(out) as { lladdr?: string; state?: string[] }[])[0];
    return entry === undefined ? null : { mac: entry.lladdr ?? null, state: entry.state ?? [] };
  }

  /** kill -9 and wait until the process has exited (at once if it already has). */
  async kill(proc: NodeProcess): Promise<void> {
    // An exited child's pid may already belong to someone else: never signal it.
    if (hasExited(proc)) return;
    signalPid(proc.pid, "SIGKILL");
    await proc.exited;
  }

  /** SIGSTOP, resolving once the process is stopped: it keeps its sockets and answers nothing. */
  async freeze(proc: NodeProcess): Promise<void> {
    if (hasExited(proc) || !signalPid(proc.pid, "SIGSTOP")) throw new Error(`Cannot freeze pid ${proc.pid} on ${proc.node.name}: it has exited`);
    await waitStopped([proc.pid], true);
  }

  /** SIGCONT after freeze(), resolving once the process runs again. */
  async thaw(proc: NodeProcess): Promise<void> {
    if (hasExited(proc) || !signalPid(proc.pid, "SIGCONT")) throw new Error(`Cannot thaw pid ${proc.pid} on ${proc.node.name}: it has exited`);
    await waitStopped([proc.pid], false);
  }

  /**
   * SIGSTOP to every process in node `name`'s namespace (ours and any they started), repeated
   * until a listing finds nothing new, so a process forked meanwhile is frozen too; resolves once
   * all are stopped. Returns the pids.
   */
  async freezeNode(name: string): Promise<number[]> {
    const ns = this.node(name).namespace;
    const stopped = new Set<number>();
    for (let round = 0; round < FREEZE_ROUNDS_MAX; round++) {
      const fresh = (await namespacePids(ns)).filter((pid) => !stopped.has(pid));
      if (fresh.length === 0) {
        await waitStopped([...stopped], true);
        return [...stopped];
      }
      for (const pid of fresh) if (signalPid(pid, "SIGSTOP")) stopped.add(pid);
    }
    throw new Error(`Cannot freeze ${name}: new processes kept appearing after ${FREEZE_ROUNDS_MAX} rounds`);
  }

  /** SIGCONT to every process in node `name`'s namespace, resolving once all run. Returns the pids. */
  async thawNode(name: string): Promise<number[]> {
    const pids = (await namespacePids(this.node(name).namespace)).filter((pid) => signalPid(pid, "SIGCONT"));
    await waitStopped(pids, false);
    return pids;
  }

  /**
   * Symmetric partition: nodes in different groups cannot exchange a single frame (ARP included);
   * nodes in no group (a "bridge" host) still reach everyone. Replaces any earlier partition.
   */
  async partition(...groups: readonly (readonly string[])[]): Promise<void> {
    await this.applyFaults({ ...this.faults, partition: groups.map((g) => [...g]) });
  }

  /** IP frames from `from` to `to` are dropped; `to` → `from` still passes. Adds to earlier cuts. */
  async cutOneWay(from: readonly string[], to: readonly string[]): Promise<void> {
    await this.applyFaults({ ...this.faults, oneWay: [...this.faults.oneWay, { from: [...from], to: [...to] }] });
  }

  /** Drops `percent` % of the frames leaving and of those reaching node `name`, at random. 0 ends it. */
  async setLoss(name: string, percent: number): Promise<void> {
    const loss = new Map(this.faults.lossPercent);
    loss.set(name, percent);
    await this.applyFaults({ ...this.faults, lossPercent: loss });
  }

  /** Ends every network fault: deletes the fault table. */
  async heal(): Promise<void> {
    await this.applyFaults(NO_FAULTS);
  }

  /** The faults now in force. */
  currentFaults(): FaultState {
    return this.faults;
  }

  private async applyFaults(next: FaultState): Promise<void> {
    this.assertOpen();
    validateFaults(next, new Set(this.nodesByName.keys()));
    const sw = this.switchNamespace;
    if (isHealthy(next)) {
      // `add` first so deleting a table that was never loaded is not an error.
      await run("ip", ["netns", "exec", sw, "nft", "-f", "-"], `add table bridge ${FAULT_TABLE}\ndelete table bridge ${FAULT_TABLE}\n`);
    } else {
      await run("ip", ["netns", "exec", sw, "nft", "-f", "-"], faultRuleset(FAULT_TABLE, next));
    }
    this.faults = next;
  }

  /** The fault table as nft lists it (for failure messages); "" when none is loaded. */
  async listFaultTable(): Promise<string> {
    return run("ip", ["netns", "exec", this.switchNamespace, "nft", "list", "ruleset"]);
  }

  /** Kills every process in every namespace of this harness and deletes the namespaces. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const errors: unknown[] = [];
    for (const ns of this.namespaces()) {
      try {
        await destroyNamespace(ns);
      } catch (err) {
        errors.push(err);
      }
    }
    // Left in place on failure: the exit hook tries once more.
    if (errors.length > 0) throw new AggregateError(errors, `Host harness ${this.prefix} not fully removed`);
    await Promise.all([...this.processes].map((p) => p.exited));
    this.removeProcessHooks();
  }

  private installProcessHooks(): void {
    process.on("exit", this.onExit);
    process.on("SIGINT", this.onSignal);
    process.on("SIGTERM", this.onSignal);
  }

  private removeProcessHooks(): void {
    process.off("exit", this.onExit);
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`Host harness ${this.prefix} is closed`);
  }
}
