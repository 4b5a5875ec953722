// The cluster `phalanx demo` runs: three `phalanx agent` processes on 127.0.0.1 in a temporary
// directory, each node's proxy on its own loopback address (127.0.0.1, .2, .3: one port, three
// balancers, as three servers would have). Also the demo's lock, and the watchdog that makes a
// killed demo take its cluster with it.
//
// Nothing outlives the demo: every node is spawned in its own process group (so Ctrl-C in the
// terminal reaches only the demo, which stops the nodes in order), and a watchdog shell in its own
// session holds a pipe from the demo with the nodes' groups. If the demo dies in any way, even
// kill -9, the kernel closes the pipe; the watchdog SIGKILLs the nodes' groups, and each node's own
// instance watchdog (src/agent/watchdog.ts, the same pattern) SIGKILLs that node's instances; then
// it removes the temporary directory and the lock.
import { GROUP_KILLER_LINES } from "../../agent/watchdog.js";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeClusterFiles } from "../cluster-files.js";
import type { ClusterFiles, NodeSpec } from "../cluster-files.js";
import { freePort, selfCommand, waitHealthy } from "./dev.js";

/** Nodes in the demo cluster. */
export const DEMO_NODE_COUNT = 3;
/** How long the nodes get to report a leader. */
export const DEMO_START_DEADLINE_MS = 60_000;
/** How long a node gets to stop on SIGTERM before its group is killed. */
export const DEMO_STOP_DEADLINE_MS = 15_000;
/** Instance ports each node hands out (its own range, so a port tells which node runs it). */
export const DEMO_PORTS_PER_NODE = 20;
/** The lock's file name in the temporary root (one demo per machine and user). */
export const DEMO_LOCK_NAME = "phalanx-demo.lock";

/** A precise, expected failure of the demo (bad input, busy port, second demo): one line for the user. */
export class DemoError extends Error {
  override readonly name = "DemoError";
  constructor(readonly code: "port_in_use" | "address_unavailable" | "locked" | "no_temp_dir" | "start_failed" | "apply_failed", message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** One node of the demo. */
export interface DemoNode {
  readonly id: number;
  readonly name: string;
  readonly clientAddress: string;
  /** The loopback address its proxy serves the exposed services on. */
  readonly proxyHost: string;
  readonly configFile: string;
  readonly logFile: string;
  /** The first instance port of its range. */
  readonly portFrom: number;
  /** The live process, or null after `kill` or once it exited. */
  child: ChildProcess | null;
  /** When it exited or was killed (null while it runs). */
  exitedAtMs: number | null;
}

/** Options of DemoCluster.start. */
export interface DemoClusterOptions {
  /** Port of the active/active service on every node's proxy (0: a free one). */
  readonly webPort: number;
  /** Port of the singleton on every node's proxy (0: a free one). */
  readonly singletonPort: number;
}

const WATCHDOG_SCRIPT = `
trap '' INT TERM HUP
root=$1; lock=$2; owner=$3${GROUP_KILLER_LINES}sleep 1
rm -rf -- "$root"
[ "$(head -n 1 "$lock" 2>/dev/null)" = "$owner" ] && rm -f -- "$lock"
`;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the demo lock in the temporary root: a file holding this process's id and the demo's
 * directory. A lock whose process is gone (a demo killed before its watchdog ran) is taken over.
 */
export async function takeDemoLock(tempRoot: string): Promise<string> {
  const lock = join(tempRoot, DEMO_LOCK_NAME);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(lock, `${process.pid}\n`, { flag: "wx", mode: 0o644 });
      return lock;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EEXIST") throw tempDirError(tempRoot, err);
    }
    const [pidText = "", dir = ""] = (await readFile(lock, "utf8").catch(() => "")).split("\n");
    const pid = Number(pidText);
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
      throw new DemoError("locked", `Another phalanx demo is running (pid ${pid}${dir ? `, in ${dir}` : ""}): stop it with Ctrl-C in its terminal or \`kill ${pid}\`, then try again`);
    }
    await rm(lock, { force: true });
  }
  throw new DemoError("locked", `Cannot take the demo lock ${lock}: it keeps reappearing; remove it if no demo runs, then try again`);
}

function tempDirError(dir: string, err: unknown): DemoError {
  const code = (err as NodeJS.ErrnoException).code ?? "error";
  const why = code === "EACCES" || code === "EPERM" ? "no write access" : code === "ENOENT" ? "it does not exist" : code === "ENOTDIR" ? "it is not a directory" : code === "EROFS" ? "it is on a read-only file system" : (err as Error).message;
  return new DemoError("no_temp_dir", `Cannot write to the temporary directory ${dir}: ${why} (${code}); set TMPDIR to a writable directory and try again`, { cause: err });
}

/** Resolves when `host:port` can be listened on; throws a DemoError naming the port otherwise. */
async function checkPortFree(host: string, port: number, flag: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const s = createServer();
    s.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") reject(new DemoError("port_in_use", `Port ${port} is already in use on ${host}: stop what listens there, or pass ${flag} with another port (${flag} 0 picks a free one)`));
      else if (err.code === "EADDRNOTAVAIL") reject(new DemoError("address_unavailable", `Cannot listen on ${host}: the demo gives each node's balancer its own loopback address (127.0.0.1-3), which needs Linux`));
      else if (err.code === "EACCES") reject(new DemoError("port_in_use", `Port ${port} on ${host} needs privileges: pass ${flag} with a port above 1023`));
      else reject(err);
    });
    s.listen(port, host, () => s.close(() => resolve()));
  });
}

/** A port free on every proxy host (the given one, checked, or a free one found). */
async function balancerPort(hosts: readonly string[], wanted: number, flag: string, avoid: readonly number[]): Promise<number> {
  if (wanted !== 0) {
    for (const h of hosts) await checkPortFree(h, wanted, flag);
    return wanted;
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    const p = await freePort();
    if (avoid.includes(p)) continue;
    try {
      for (const h of hosts) await checkPortFree(h, p, flag);
      return p;
    } catch (err) {
      if (err instanceof DemoError && err.code === "address_unavailable") throw err;
    }
  }
  throw new DemoError("port_in_use", `Cannot find a port free on ${hosts.join(", ")}: pass ${flag} with a free port`);
}

/** The running demo cluster. */
export class DemoCluster {
  private watchdog: ChildProcess | null = null;
  private stopped = false;

  private constructor(
    /** The temporary directory holding every node's files. */
    readonly root: string,
    private readonly lock: string,
    readonly files: ClusterFiles,
    readonly nodes: readonly DemoNode[],
    readonly webPort: number,
    readonly singletonPort: number,
  ) {}

  /** Takes the lock, writes the cluster's files, starts the nodes and waits until each knows a leader. */
  static async start(options: DemoClusterOptions): Promise<DemoCluster> {
    const tempRoot = tmpdir();
    const hosts = Array.from({ length: DEMO_NODE_COUNT }, (_, i) => `127.0.0.${i + 1}`);
    if (options.webPort !== 0 && options.webPort === options.singletonPort) throw new DemoError("port_in_use", `--port and --singleton-port are both ${options.webPort}: give the two services different ports`);
    // The lock first (a second demo is told so before anything else), then the ports, then files:
    // each failure leaves nothing behind.
    const lock = await takeDemoLock(tempRoot);
    let root: string;
    let webPort: number;
    let singletonPort: number;
    try {
      webPort = await balancerPort(hosts, options.webPort, "--port", []);
      singletonPort = await balancerPort(hosts, options.singletonPort, "--singleton-port", [webPort]);
    } catch (err) {
      await rm(lock, { force: true });
      throw err;
    }
    try {
      root = await mkdtemp(join(tempRoot, "phalanx-demo-"));
      await writeFile(lock, `${process.pid}\n${root}\n`);
    } catch (err) {
      await rm(lock, { force: true });
      throw tempDirError(tempRoot, err);
    }
    try {
      // Instance ports per node below Linux's ephemeral range, spread by pid so parallel test runs rarely meet.
      const portBase = 21_000 + (process.pid % 250) * 40;
      const specs: NodeSpec[] = [];
      for (let i = 1; i <= DEMO_NODE_COUNT; i++) {
        const peer = `127.0.0.1:${await freePort()}`;
        const client = `127.0.0.1:${await freePort()}`;
        specs.push({ id: i, name: `n${i}`, peerListen: peer, peerAdvertise: peer, clientListen: client, clientAdvertise: client });
      }
      const files = await writeClusterFiles(root, specs, undefined, {
        nodeExtra: (n) => ({
          labels: { zone: `z${n.id}` },
          services: { portRange: { from: portBase + (n.id - 1) * DEMO_PORTS_PER_NODE, to: portBase + n.id * DEMO_PORTS_PER_NODE - 1 } },
          proxy: { bindHost: hosts[n.id - 1]!, drainGraceMs: 2000 },
        }),
      });
      const nodes: DemoNode[] = specs.map((s) => ({
        id: s.id, name: s.name, clientAddress: s.clientAdvertise, proxyHost: hosts[s.id - 1]!,
        configFile: files.configFiles.get(s.id)!, logFile: join(root, s.name, "agent.log"),
        portFrom: portBase + (s.id - 1) * DEMO_PORTS_PER_NODE, child: null, exitedAtMs: null,
      }));
      const cluster = new DemoCluster(root, lock, files, nodes, webPort, singletonPort);
      cluster.startWatchdog();
      for (const n of nodes) cluster.spawnNode(n);
      try {
        await waitHealthy(nodes.map((n) => n.clientAddress), DEMO_START_DEADLINE_MS);
      } catch (err) {
        const logs = nodes.map((n) => n.logFile).join(", ");
        await cluster.stop();
        throw new DemoError("start_failed", `The demo cluster did not start: ${(err as Error).message}; rerun with --keep to keep the node logs (${logs})`, { cause: err });
      }
      return cluster;
    } catch (err) {
      await rm(root, { recursive: true, force: true });
      await rm(lock, { force: true });
      throw err;
    }
  }

  /** The balancer addresses of the active/active service (one per node). */
  webAddresses(): string[] {
    return this.nodes.map((n) => `${n.proxyHost}:${this.webPort}`);
  }

  /** The balancer addresses of the singleton (one per node). */
  singletonAddresses(): string[] {
    return this.nodes.map((n) => `${n.proxyHost}:${this.singletonPort}`);
  }

  /** The node whose instance port range holds `port` (each node hands out its own range). */
  nodeOfPort(port: number): DemoNode | undefined {
    return this.nodes.find((n) => port >= n.portFrom && port < n.portFrom + DEMO_PORTS_PER_NODE);
  }

  /** Kills node `id`'s agent with SIGKILL, as a crash would (its instance watchdog then kills its instances). */
  kill(id: number): number {
    const n = this.node(id);
    const pid = n.child?.pid;
    if (pid === undefined) throw new Error(`Cannot kill node n${id}: it is not running`);
    process.kill(pid, "SIGKILL");
    n.child = null;
    n.exitedAtMs = Date.now();
    // The group id may be reused once the process is reaped; the watchdog must forget it.
    this.toWatchdog(`-${pid}\n`);
    return pid;
  }

  /** Starts node `id` again from its files (it rejoins with its data). */
  restart(id: number): number {
    const n = this.node(id);
    if (n.child !== null) throw new Error(`Cannot restart node n${id}: it is running`);
    return this.spawnNode(n);
  }

  /** Stops every node (SIGTERM, then SIGKILL of the group after DEMO_STOP_DEADLINE_MS), removes the directory and the lock. */
  async stop(options: { keepFiles?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.nodes.map(async (n) => {
      const child = n.child;
      if (child === null || child.pid === undefined) return;
      const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          // Already gone: nothing to kill.
        }
      }, DEMO_STOP_DEADLINE_MS);
      await exited;
      clearTimeout(timer);
      this.toWatchdog(`-${child.pid}\n`);
      n.child = null;
    }));
    // Every group is off the list, so closing the pipe kills nothing; the watchdog only tidies up.
    this.watchdog?.stdin?.end();
    this.watchdog = null;
    if (options.keepFiles !== true) await rm(this.root, { recursive: true, force: true });
    await rm(this.lock, { force: true });
  }

  private node(id: number): DemoNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`No demo node n${id}: the demo has n1-n${DEMO_NODE_COUNT}`);
    return n;
  }

  private spawnNode(n: DemoNode): number {
    const self = selfCommand();
    const logFd = openSync(n.logFile, "a");
    // Own process group: Ctrl-C reaches the demo only, and the watchdog kills the whole group.
    const child = spawn(self.cmd, [...self.args, "agent", "--config", n.configFile], { stdio: ["ignore", logFd, logFd], detached: true });
    closeSync(logFd);
    const pid = child.pid;
    if (pid === undefined) throw new DemoError("start_failed", `Cannot start node ${n.name}: ${self.cmd} did not run`);
    n.child = child;
    this.toWatchdog(`+${pid}\n`);
    // Killed from outside (the user's kill -9): forget it, so the view and restart see it gone.
    child.once("exit", () => {
      if (n.child !== child) return;
      n.child = null;
      n.exitedAtMs = Date.now();
      this.toWatchdog(`-${pid}\n`);
    });
    n.exitedAtMs = null;
    return pid;
  }

  private startWatchdog(): void {
    const child = spawn("/bin/sh", ["-c", WATCHDOG_SCRIPT, "phalanx-demo-watchdog", this.root, this.lock, String(process.pid)], { detached: true, stdio: ["pipe", "ignore", "ignore"] });
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    // A write to a watchdog someone killed fails with EPIPE; the demo then runs without one.
    child.stdin?.on("error", () => undefined);
    this.watchdog = child;
  }

  private toWatchdog(line: string): void {
    this.watchdog?.stdin?.write(line);
  }

  /** Process id of the watchdog (tests). */
  get watchdogPid(): number | null {
    return this.watchdog?.pid ?? null;
  }
}
