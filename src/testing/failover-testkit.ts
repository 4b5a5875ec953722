// Test kit for active-standby with real processes (issue 11): an app that logs when it starts and
// stops acting as active (src/failover/acting-log.ts lines, on the machine's monotonic clock, which
// every process of the machine shares), a service file for it, and helpers that judge a run from the
// instances' own records. Only tests and bench/failover import it.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { appendFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { judgeActingLog, type ActingReport } from "../failover/acting-log.js";
import { describeService, service, type ServicesFixture } from "./services-testkit.js";
import type { ServiceRow } from "../cli/commands/services.js";
import { COLD_STANDBY_MESSAGE } from "../server/services/node-agent.js";

/**
 * A cold standby app: started on promotion with PHALANX_ROLE=active and PHALANX_FENCING_TOKEN, it
 * appends "start <instance> <token> <ns>" before it serves, and "stop <instance> <ns>" on SIGTERM
 * before it exits; its pid goes to <ACTING_DIR>/<instance>.pid (a SIGKILLed instance writes no
 * stop line: the test records when it saw the pid gone). It answers /healthz and / with its token.
 */
export const ACTING_APP = `
import http from "node:http";
import { appendFileSync, writeFileSync } from "node:fs";
const dir = process.env.ACTING_DIR;
const name = process.env.PHALANX_INSTANCE;
const token = process.env.PHALANX_FENCING_TOKEN ?? "0";
if (process.env.PHALANX_ROLE !== "active") { setInterval(() => {}, 1000); } else {
  writeFileSync(dir + "/" + name + ".pid", String(process.pid));
  appendFileSync(dir + "/acting.log", "start " + name + " " + token + " " + process.hrtime.bigint() + "\\n");
  process.on("SIGTERM", () => {
    appendFileSync(dir + "/acting.log", "stop " + name + " " + process.hrtime.bigint() + "\\n");
    process.exit(0);
  });
  http.createServer((req, res) => res.end(req.url === "/healthz" ? "ok" : JSON.stringify({ instance: name, token: Number(token) })))
    .listen(Number(process.env.PORT), "127.0.0.1");
}
`;

/** Writes the app into the fixture's directory; returns its path. */
export async function writeActingApp(f: ServicesFixture): Promise<string> {
  const file = join(f.dir, "acting-app.mjs");
  await writeFile(file, ACTING_APP);
  return file;
}

/** An active-standby service of the acting app: cold standbys on the other nodes, optional hooks. */
export function activeStandbyService(f: ServicesFixture, app: string, o: { name?: string; standbys?: number; extra?: string; expose?: string } = {}): string {
  return [
    "services:",
    `  - name: ${o.name ?? "db"}`,
    `    run: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(app)}] }`,
    `    env: { ACTING_DIR: ${JSON.stringify(f.dir)} }`,
    "    mode: active-standby",
    `    standbys: ${o.standbys ?? 2}`,
    "    standby: cold",
    "    ports: [{ name: http }]",
    "    healthCheck: { type: http, path: /healthz, intervalMs: 100, timeoutMs: 100, rise: 1, fall: 2, startGraceMs: 500 }",
    "    restart: { backoffInitialMs: 100, backoffMaxMs: 500, maxRestarts: 3 }",
    "    stop: { timeoutMs: 2000 }",
    "    placement: { labels: { role: app } }",
    ...(o.extra !== undefined ? [o.extra] : []),
    ...(o.expose !== undefined ? [o.expose] : []),
    "",
  ].join("\n");
}

/** The service's active (holder node and token) once its instance there is healthy, else undefined. */
export async function healthyActive(f: ServicesFixture, name: string, notOn?: number): Promise<{ node: number; token: number; instance: string } | undefined> {
  const s: ServiceRow | undefined = await service(f.reader, name);
  const a = s?.failover?.active ?? null;
  if (a === null || a.node === notOn) return undefined;
  // A cold standby's placeholder report (healthy, "starts when promoted") is not the started instance.
  const inst = s!.instances.find((i) => i.node === a.node && i.healthy && i.message !== COLD_STANDBY_MESSAGE);
  return inst === undefined ? undefined : { node: a.node, token: a.token, instance: inst.id };
}

/**
 * The new active off node `notOn` once healthy, polled every 10 ms (each poll a linearizable read);
 * returns it and the wall time it was first seen. The yardstick of the failover delay figures.
 */
export async function newActiveHealthy(f: ServicesFixture, name: string, notOn: number, deadlineMs = 60_000): Promise<{ node: number; token: number; atMs: number }> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const a = await healthyActive(f, name, notOn).catch(() => undefined);
    if (a !== undefined) return { node: a.node, token: a.token, atMs: Date.now() };
    if (Date.now() > deadline) throw new Error(`No healthy active of ${name} off node ${notOn} after ${deadlineMs} ms\n${await describeService(f.reader, name)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The pid an acting instance wrote, or null. */
export async function actingPid(f: ServicesFixture, instance: string): Promise<number | null> {
  const file = join(f.dir, `${instance}.pid`);
  return existsSync(file) ? Number(await readFile(file, "utf8")) : null;
}

/**
 * True while the process runs. A zombie counts as dead: an instance orphaned by its agent's death is
 * reparented to the machine's init, which may reap it late, but it stopped acting when it died.
 */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/**
 * Polls until `pid` is gone and appends the stop line an instance killed by SIGKILL could not write,
 * stamped when the test SAW it gone (later than its death: an overlap judged with it is real or
 * conservative, never hidden). Returns that stamp.
 */
export async function recordDeath(f: ServicesFixture, instance: string, pid: number, deadlineMs = 10_000): Promise<bigint> {
  const start = Date.now();
  while (alive(pid)) {
    if (Date.now() - start > deadlineMs) throw new Error(`Instance ${instance} (pid ${pid}) still alive after ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  const at = process.hrtime.bigint();
  const log = await readFile(join(f.dir, "acting.log"), "utf8");
  const count = (word: string): number => log.split("\n").filter((l) => l.startsWith(`${word} ${instance} `)).length;
  if (count("start") > count("stop")) await appendFile(join(f.dir, "acting.log"), `stop ${instance} ${at}\n`);
  return at;
}

/** The acting log judged (intervals, overlaps, tokens that do not grow). */
export async function judgeRun(f: ServicesFixture): Promise<ActingReport> {
  const text = await readFile(join(f.dir, "acting.log"), "utf8").catch(() => "");
  return judgeActingLog(text.split("\n"));
}

/** Every process descended from `pid` (by parent pid, from /proc), not `pid` itself. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0) for (const c of children.get(todo.pop()!) ?? []) { out.push(c); todo.push(c); }
  return out;
}
