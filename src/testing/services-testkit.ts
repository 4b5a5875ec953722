// Test kit for the services tests with real processes: a tiny HTTP app written to a temp dir, a
// 3-node ProcessCluster with labelled nodes and their own port ranges, service files, and polls.
// Only tests import it (src/testing is left out of the build).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PhalanxClient } from "../client/client.js";
import { ProcessCluster, PROCESS_TEST_RAFT } from "./process-cluster.js";
import type { ServiceRow } from "../cli/commands/services.js";
import type { ClusterFileOptions } from "../cli/cluster-files.js";

/** The app: prints "serving <instance> version <v> on <port>", answers /healthz (200 unless HEALTHY=0; alternating every FLAP_MS when set) and / with its instance and VERSION. */
export const TEST_APP = `
import http from "node:http";
const flapMs = Number(process.env.FLAP_MS ?? 0);
const started = Date.now();
let served = 0;
http.createServer((req, res) => {
  if (req.url === "/healthz") {
    let ok = process.env.HEALTHY !== "0";
    if (flapMs > 0) ok = Math.floor((Date.now() - started) / flapMs) % 2 === 0;
    res.writeHead(ok ? 200 : 500);
    res.end(ok ? "ok" : "unhealthy");
    return;
  }
  served++;
  res.end(JSON.stringify({ instance: process.env.PHALANX_INSTANCE, version: process.env.VERSION ?? "", pid: process.pid, served }));
}).listen(Number(process.env.PORT), "127.0.0.1", () => console.log(\`serving \${process.env.PHALANX_INSTANCE} version \${process.env.VERSION ?? ""} on \${process.env.PORT}\`));
process.on("SIGTERM", () => process.exit(0));
`;

/** A services test cluster: three nodes labelled role=app, zone z<id>, node lease 1000 ms. */
export interface ServicesFixture {
  readonly cluster: ProcessCluster;
  /** Client token. */
  readonly reader: PhalanxClient;
  /** Admin token. */
  readonly admin: PhalanxClient;
  readonly appFile: string;
  readonly dir: string;
  close(): Promise<void>;
}

export const TEST_NODE_LEASE_TTL_MS = 1000;

/** The address node `id`'s proxy serves exposed services on. */
export function proxyHost(id: number): string {
  return `127.0.0.${id + 1}`;
}

export async function startServicesFixture(options: { alerts?: ClusterFileOptions["alerts"] } = {}): Promise<ServicesFixture> {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-svc-"));
  const appFile = join(dir, "app.mjs");
  await writeFile(appFile, TEST_APP);
  // Each node its own port range, away from other tests' (pid-based) and below the ephemeral range.
  const base = 20_000 + (process.pid % 80) * 150;
  let cluster: ProcessCluster;
  try {
    cluster = await ProcessCluster.start(3, PROCESS_TEST_RAFT, {
      ...(options.alerts !== undefined ? { alerts: options.alerts } : {}),
      // Each node's proxy on its own loopback address (127.0.0.<id + 1>), so three can serve one exposed port.
      nodeExtra: (n) => ({
        labels: { role: "app", zone: `z${n.id}` }, leaseTtlMs: TEST_NODE_LEASE_TTL_MS,
        services: { portRange: { from: base + n.id * 40, to: base + n.id * 40 + 39 } }, proxy: { bindHost: proxyHost(n.id) },
      }),
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const reader = cluster.client();
  const admin = cluster.client({ token: cluster.adminToken });
  return {
    cluster, reader, admin, appFile, dir,
    async close() {
      await reader.close();
      await admin.close();
      await cluster.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A service file for the test app. */
export function webService(f: ServicesFixture, o: { name?: string; replicas?: number; env?: Record<string, string>; maxRestarts?: number; extra?: string } = {}): string {
  const env = { VERSION: "1", ...o.env };
  return [
    "services:",
    `  - name: ${o.name ?? "web"}`,
    `    run: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(f.appFile)}] }`,
    `    env: ${JSON.stringify(env)}`,
    `    replicas: ${o.replicas ?? 2}`,
    "    ports: [{ name: http }]",
    "    healthCheck: { type: http, path: /healthz, intervalMs: 200, timeoutMs: 200, rise: 1, fall: 2, startGraceMs: 500 }",
    `    restart: { backoffInitialMs: 100, backoffMaxMs: 500, maxRestarts: ${o.maxRestarts ?? 3} }`,
    "    stop: { timeoutMs: 2000 }",
    "    placement: { labels: { role: app } }",
    ...(o.extra !== undefined ? [o.extra] : []),
    "",
  ].join("\n");
}

export async function applyText(client: PhalanxClient, text: string, file = "test.yaml"): Promise<{ applied: { name: string; revision: string; change: string }[] }> {
  return (await client.call("POST", "/v3/phalanx/services/apply", { file, text }, false)) as never;
}

export async function services(client: PhalanxClient): Promise<ServiceRow[]> {
  return ((await client.call("GET", "/v3/phalanx/services", undefined, true)).services ?? []) as never;
}

export async function service(client: PhalanxClient, name: string): Promise<ServiceRow | undefined> {
  return (await services(client)).find((s) => s.name === name);
}

/** Healthy instances of the service's current revision. */
export function healthyCurrent(s: ServiceRow | undefined): ServiceRow["instances"] {
  return s === undefined ? [] : s.instances.filter((i) => i.placed && i.healthy && i.revision === s.revision);
}

/** Polls `check` until it returns a value (not undefined/false) or the deadline passes; the error says what was last seen. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, deadlineMs = 30_000, describe?: () => Promise<string>): Promise<T> {
  const start = Date.now();
  let lastErr: unknown = null;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() - start > deadlineMs) {
      const seen = describe ? await describe().catch((e: unknown) => String(e)) : "";
      throw new Error(`Timed out after ${deadlineMs} ms waiting for ${what}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ""}\n${seen}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A service's instances as one line per instance, for failure messages. */
export async function describeService(client: PhalanxClient, name: string): Promise<string> {
  const s = await service(client, name);
  if (s === undefined) return `(no service ${name})`;
  return [`${s.name} rev ${s.revision} healthy ${s.healthy} rollout ${JSON.stringify(s.rollout)}`, ...s.instances.map((i) => `  ${i.id} node ${i.node} ${i.state} ${i.healthy ? "healthy" : "-"} rev ${i.revision} placed ${i.placed} restarts ${i.restarts} ${i.message ?? ""}`)].join("\n");
}

/** Steady GETs of `url`, one at a time, until stop(): how many were answered 200 and why the others failed. */
export function startSteadyGets(url: string, timeoutMs = 2000): { stop(): Promise<{ ok: number; failures: string[] }> } {
  let ok = 0;
  const failures: string[] = [];
  let running = true;
  const load = (async () => {
    while (running) {
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
        await r.text();
        if (r.status === 200) ok++;
        else failures.push(`HTTP ${r.status}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await load;
      return { ok, failures };
    },
  };
}
