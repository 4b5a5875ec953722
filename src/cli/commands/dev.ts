// `phalanx dev --nodes 3`: a local cluster for trying Phalanx: N nodes on 127.0.0.1, each its own
// process (so `kill -9` of one is a real crash), in a temporary directory removed on exit.
import type { Command } from "commander";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { randomInt } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeClusterFiles } from "../cluster-files.js";

/** Where explicit ports are drawn from: below the kernel's ephemeral range (see freePort). */
const EXPLICIT_PORT_FLOOR = 20_000;

/** The kernel's ephemeral port range (Linux), or the usual default where it cannot be read. */
function ephemeralPortRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi)) return [lo!, hi!];
  } catch {
    // Not Linux: the IANA default.
  }
  return [49_152, 65_535];
}

function listenOnce(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(null));
    s.listen(port, "127.0.0.1", () => {
      const bound = (s.address() as { port: number }).port;
      s.close(() => resolve(bound));
    });
  });
}

/**
 * Finds a free TCP port on 127.0.0.1 (bound then released) for a node about to start. Drawn at
 * random below the kernel's ephemeral range: a port from that range, once released, may be taken
 * at any moment as the source port of some outgoing connection or by another listen(0) before the
 * node binds it (seen as a node that never started in parallel test runs); below the range only
 * another explicit bind can take it.
 */
export async function freePort(): Promise<number> {
  const ceiling = ephemeralPortRange()[0];
  if (ceiling - EXPLICIT_PORT_FLOOR >= 1_000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = await listenOnce(EXPLICIT_PORT_FLOOR + randomInt(ceiling - EXPLICIT_PORT_FLOOR));
      if (port !== null) return port;
    }
  }
  const port = await listenOnce(0);
  if (port === null) throw new Error("Cannot find a free TCP port on 127.0.0.1");
  return port;
}

/** The command line that runs this CLI again in a child process (compiled or through tsx). */
export function selfCommand(): { cmd: string; args: string[] } {
  const main = fileURLToPath(new URL("../main.js", import.meta.url));
  if (import.meta.url.endsWith(".ts")) return { cmd: process.execPath, args: ["--import", "tsx", fileURLToPath(new URL("../main.ts", import.meta.url))] };
  return { cmd: process.execPath, args: [main] };
}

/** How long `phalanx dev` waits for every node to report a leader. */
export const DEV_START_DEADLINE_MS = 120_000;

/** Polls each node's /healthz until all report a leader, or throws after `deadlineMs`. */
export async function waitHealthy(addresses: readonly string[], deadlineMs: number): Promise<void> {
  const start = Date.now();
  for (const address of addresses) {
    for (;;) {
      const ok = await fetch(`http://${address}/healthz`).then((r) => r.status === 200, () => false);
      if (ok) break;
      if (Date.now() - start > deadlineMs) throw new Error(`Node at ${address} did not report a leader within ${deadlineMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Adds `phalanx dev`. */
export function registerDev(program: Command): void {
  program
    .command("dev")
    .description("Start a local cluster of N nodes on 127.0.0.1 in a temporary directory (Ctrl-C stops it)")
    .option("--nodes <n>", "number of nodes (1, 3 or 5)", "3")
    .option("--dir <dir>", "keep the cluster's files here instead of a temporary directory")
    .action(async (o: { nodes: string; dir?: string }) => {
      const n = Number(o.nodes);
      if (![1, 3, 5].includes(n)) {
        process.stderr.write(`phalanx: --nodes ${o.nodes} is not supported: use 1, 3 or 5\n`);
        process.exitCode = 2;
        return;
      }
      const root = o.dir ?? (await mkdtemp(join(tmpdir(), "phalanx-dev-")));
      const specs = [];
      for (let i = 1; i <= n; i++) {
        const peer = `127.0.0.1:${await freePort()}`;
        const client = `127.0.0.1:${await freePort()}`;
        specs.push({ id: i, name: `n${i}`, peerListen: peer, peerAdvertise: peer, clientListen: client, clientAdvertise: client });
      }
      const files = await writeClusterFiles(root, specs);
      const self = selfCommand();
      const children: ChildProcess[] = [];
      for (const s of specs) {
        // Each node logs to <dir>/<name>/agent.log so a crash leaves its reason behind.
        const logFd = openSync(join(root, s.name, "agent.log"), "a");
        const child = spawn(self.cmd, [...self.args, "agent", "--config", files.configFiles.get(s.id)!], { stdio: ["ignore", logFd, logFd] });
        closeSync(logFd);
        children.push(child);
      }
      const endpoints = specs.map((s) => s.clientAdvertise).join(",");
      try {
        await waitHealthy(specs.map((s) => s.clientAdvertise), DEV_START_DEADLINE_MS);
      } catch (err) {
        process.stderr.write(`phalanx: ${(err as Error).message}; see the agent.log files under ${root}\n`);
        for (const c of children) c.kill("SIGKILL");
        process.exitCode = 1;
        return;
      }
      process.stdout.write([
        `Local cluster ${files.clusterId}: ${n} node${n > 1 ? "s" : ""} in ${root}`,
        ...specs.map((s, i) => `  ${s.name}  client http://${s.clientAdvertise}  peer ${s.peerAdvertise}  pid ${children[i]?.pid}  log ${join(root, s.name, "agent.log")}`),
        "",
        "Try it (in another terminal):",
        `  export PHALANX_ENDPOINTS=${endpoints} PHALANX_TOKEN=${files.clientToken} PHALANX_ADMIN_TOKEN=${files.adminToken}`,
        "  phalanx status",
        `  open http://${specs[0]!.clientAdvertise}/dashboard   # the web dashboard (any node): sign in with the admin token`,
        "  phalanx kv put greeting hello && phalanx kv get greeting",
        "  phalanx snapshot save ./store.snap     # cluster operations use PHALANX_ADMIN_TOKEN",
        `  curl -s -H "Authorization: Bearer ${files.clientToken}" http://${specs[0]!.clientAdvertise}/v3/kv/range -d '{"key":"Z3JlZXRpbmc="}'`,
        "",
        `Add a node:  phalanx join ${specs[0]!.clientAdvertise} --token ${files.joinToken} --dir ${join(root, "n" + (n + 1))} --peer-listen 127.0.0.1:0 --client-listen 127.0.0.1:0`,
        "",
        "Ctrl-C stops the cluster.",
        "",
      ].join("\n"));
      const stop = async (): Promise<void> => {
        for (const c of children) c.kill("SIGTERM");
        await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once("exit", r)))));
        if (o.dir === undefined) await rm(root, { recursive: true, force: true });
        process.exit(0);
      };
      process.once("SIGINT", () => void stop());
      process.once("SIGTERM", () => void stop());
    });
}
