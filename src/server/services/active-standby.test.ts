// Active-standby with real agent processes on loopback (issue 11). Whether two actives overlapped
// is judged from the instances' own acting records (src/failover/acting-log.ts, the machine's
// monotonic clock), not from what Phalanx believes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../cli/commands/dev.js";
import { applyText, describeService, healthyCurrent, proxyHost, service, startServicesFixture, waitFor, webService } from "../../testing/services-testkit.js";
import { COLD_STANDBY_MESSAGE } from "./node-agent.js";
import { actingPid, activeStandbyService, alive, descendants, healthyActive, judgeRun, recordDeath, writeActingApp } from "../../testing/failover-testkit.js";

/** Runs the CLI (from source) against the fixture; resolves its stdout, rejects with its stderr. */
function phalanxCli(f: Awaited<ReturnType<typeof startServicesFixture>>, args: readonly string[], admin: boolean, nodes?: readonly number[]): Promise<string> {
  const env = { ...process.env, PHALANX_ENDPOINTS: f.cluster.endpoints(nodes).join(","), PHALANX_TOKEN: f.cluster.token, ...(admin ? { PHALANX_ADMIN_TOKEN: f.cluster.adminToken } : {}) };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["--import", "tsx", fileURLToPath(new URL("../../cli/main.ts", import.meta.url)), ...args], { env, timeout: 30_000 },
      (err, stdout, stderr) => (err === null ? resolve(stdout) : reject(new Error(`${err.message}\n${stderr}`))));
  });
}

const overlapText = (r: Awaited<ReturnType<typeof judgeRun>>): string => JSON.stringify(r.intervals.map((i) => ({ ...i, startNs: String(i.startNs), endNs: String(i.endNs) })));

test("kill -9 of the active's agent: a standby elsewhere is promoted with a larger token, no overlap; then SIGSTOP of the active's agent alone: the fencing watchdog kills the active before the promotion", { timeout: 150_000 }, async (t) => {
  const f = await startServicesFixture();
  t.after(() => f.close());
  const app = await writeActingApp(f);
  const describe = async (): Promise<string> => `${await describeService(f.reader, "db")}\n${JSON.stringify((await service(f.reader, "db"))?.failover)}`;
  await applyText(f.admin, activeStandbyService(f, app));
  const first = await waitFor("a healthy active", () => healthyActive(f, "db"), 30_000, describe);
  await waitFor("1 active + 2 standbys placed", async () => (await service(f.reader, "db"))?.instances.filter((i) => i.placed).length === 3, 15_000, describe);
  await waitFor("the two cold standbys reported ready, unstarted", async () => {
    const s = await service(f.reader, "db");
    return s?.instances.filter((i) => i.node !== first.node && i.state === "running" && i.healthy && i.message === COLD_STANDBY_MESSAGE).length === 2;
  }, 10_000, describe);

  // The local endpoint on the holder's node answers "active" with the record's token; another node says no instance acts there.
  const endpoint = f.cluster.endpoints([first.node])[0]!;
  const st = (await (await fetch(`http://${endpoint}/v3/phalanx/active?service=db`)).json()) as { active: boolean; token: number };
  assert.deepEqual([st.active, st.token], [true, first.token]);

  // 1. kill -9 of the holder's agent: its instance dies with it (the supervisor's watchdog), the fencing lease expires.
  const pid1 = (await actingPid(f, first.instance))!;
  assert.ok(pid1 > 0 && alive(pid1));
  await f.cluster.kill(first.node);
  await recordDeath(f, first.instance, pid1);
  const second = await waitFor("a standby promoted on another node", () => healthyActive(f, "db", first.node), 20_000, describe);
  assert.ok(second.token > first.token, `the new token ${second.token} is above the old ${first.token}`);
  let report = await judgeRun(f);
  assert.deepEqual(report.overlaps, [], `no two instances acted at once: ${overlapText(report)}`);
  assert.deepEqual(report.staleTokens, []);
  await f.cluster.restart(first.node);
  await f.cluster.leader();

  // 2. SIGSTOP of the holder's agent alone (its instance keeps running): the fencing watchdog must kill it.
  const pid2 = (await actingPid(f, second.instance))!;
  f.cluster.signal(second.node, "SIGSTOP");
  try {
    await recordDeath(f, second.instance, pid2, 15_000);
    const third = await waitFor("a standby promoted after the freeze", () => healthyActive(f, "db", second.node), 20_000, describe);
    assert.ok(third.token > second.token);
    report = await judgeRun(f);
    assert.deepEqual(report.overlaps, [], `no overlap: the frozen agent's active was killed before the promotion: ${overlapText(report)}`);
    assert.deepEqual(report.staleTokens, []);
    const frozen = report.intervals.find((i) => i.instance === second.instance)!;
    const next = report.intervals.find((i) => i.instance === third.instance && i.token === third.token)!;
    t.diagnostic(`freeze: the frozen agent's active stopped ${Number(next.startNs - frozen.endNs!) / 1e6} ms before the new active started`);
  } finally {
    f.cluster.signal(second.node, "SIGCONT");
  }
});

test("planned switchover with hooks that hang: the demote hook is killed at its timeout, the old active stops before the new one starts, the promote hook gets the role and token", { timeout: 120_000 }, async (t) => {
  const f = await startServicesFixture();
  t.after(() => f.close());
  const app = await writeActingApp(f);
  const hookLog = join(f.dir, "hooks.log");
  // Each hook records its role and token, then hangs (sleep 60) until it is killed at its timeout.
  const hook = (which: string): string => `{ command: /bin/sh, args: ["-c", "echo ${which} $PHALANX_ROLE $PHALANX_FENCING_TOKEN $$ >> ${hookLog}; exec sleep 60"], timeoutMs: 500 }`;
  await applyText(f.admin, activeStandbyService(f, app, { extra: `    hooks: { promote: ${hook("promote")}, demote: ${hook("demote")} }` }));
  const describe = async (): Promise<string> => `${await describeService(f.reader, "db")}\n${JSON.stringify((await service(f.reader, "db"))?.failover)}`;
  const first = await waitFor("a healthy active", () => healthyActive(f, "db"), 30_000, describe);
  const askedAt = Date.now();
  const r = await f.admin.call("POST", "/v3/phalanx/services/failover", { service: "db" }, false);
  assert.equal(r.from, first.node);
  const second = await waitFor("the switchover to finish", () => healthyActive(f, "db", first.node), 20_000, describe);
  assert.equal(second.node, r.to, "the active moved to the node the switchover named");
  assert.ok(second.token > first.token);
  t.diagnostic(`switchover took ${Date.now() - askedAt} ms (demote hook killed at 500 ms)`);
  const report = await judgeRun(f);
  assert.deepEqual(report.overlaps, [], `no overlap: ${overlapText(report)}`);
  const old = report.intervals.find((i) => i.instance === first.instance)!;
  assert.notEqual(old.endNs, null, "the old active stopped (SIGTERM) and wrote its stop line");
  const lines = (await readFile(hookLog, "utf8")).trim().split("\n");
  assert.ok(lines.includes(`promote active ${first.token} ${lines.find((l) => l.startsWith(`promote active ${first.token} `))?.split(" ")[3]}`), `the first promote hook saw role and token: ${lines.join(" | ")}`);
  assert.ok(lines.some((l) => l.startsWith(`demote standby ${first.token} `)), `the demote hook saw the old token: ${lines.join(" | ")}`);
  assert.ok(lines.some((l) => l.startsWith(`promote active ${second.token} `)), `the new promote hook saw the new token: ${lines.join(" | ")}`);
  // Every hook hung: each was killed at its timeout (its process group, sleep included).
  await waitFor("every hanging hook killed", async () => lines.every((l) => !alive(Number(l.split(" ")[3]))), 5_000);
  const s = await service(f.reader, "db");
  assert.match(s?.failover?.lastPromotion?.reason ?? "", /planned switchover/);
  await waitFor("phalanx events to show the promotion", async () => {
    const events = (await f.reader.call("GET", "/v3/phalanx/events?limit=1000", undefined, true)).events as { type: string; node?: number; message: string }[];
    return events.some((e) => e.type === "active_promoted" && e.node === second.node && /planned switchover/.test(e.message));
  }, 10_000);
  assert.match(s?.failover?.damping ?? "", /not damped/);
  assert.equal(existsSync(join(f.dir, `${second.instance}.pid`)), true);
});

test("warm standbys run beside the active but every node's proxy routes the exposed service only to the active; a switchover under load loses no request of a client that retries, then routes only to the new one", { timeout: 120_000 }, async (t) => {
  const f = await startServicesFixture();
  t.after(() => f.close());
  const port = await freePort();
  const extra = ["    mode: active-standby", "    standbys: 2", "    standby: warm", `    expose: { listen: 127.0.0.1:${port}, protocol: http }`].join("\n");
  await applyText(f.admin, webService(f, { name: "web", replicas: 1, extra }));
  const describe = async (): Promise<string> => `${await describeService(f.reader, "web")}\n${JSON.stringify((await service(f.reader, "web"))?.failover)}`;
  await waitFor("3 healthy instances (1 active, 2 warm standbys)", async () => healthyCurrent(await service(f.reader, "web")).length === 3, 30_000, describe);
  const first = await waitFor("a healthy active", () => healthyActive(f, "web"), 30_000, describe);
  const servedBy = async (id: number): Promise<string> => ((await (await fetch(`http://${proxyHost(id)}:${port}/`, { signal: AbortSignal.timeout(1000) })).json()) as { instance: string }).instance;
  for (const id of [1, 2, 3]) {
    await waitFor(`node ${id}'s proxy to route to the active only`, async () => {
      for (let k = 0; k < 6; k++) if ((await servedBy(id)) !== first.instance) return false;
      return true;
    }, 15_000, describe);
  }
  // A client under load through node 1's proxy that retries each request (20 ms apart, for up to 10 s) until it succeeds.
  let loading = true;
  let done = 0;
  let lost = 0;
  let longestRetryMs = 0;
  const load = (async () => {
    while (loading) {
      const start = Date.now();
      for (;;) {
        try {
          const r = await fetch(`http://${proxyHost(1)}:${port}/`, { signal: AbortSignal.timeout(1000) });
          await r.text();
          if (r.status === 200) break;
        } catch {
          // refused or reset: retry
        }
        if (Date.now() - start > 10_000) {
          lost++;
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      longestRetryMs = Math.max(longestRetryMs, Date.now() - start);
      done++;
    }
  })();
  // Through the CLI, naming the target node.
  const target = [1, 2, 3].find((id) => id !== first.node)!;
  const said = await phalanxCli(f, ["failover", "web", "--to", `n${target}`], true);
  assert.match(said, new RegExp(`switching the active from node ${first.node} \\(token ${first.token}\\) to node ${target}`));
  const second = await waitFor("the switchover to finish", () => healthyActive(f, "web", first.node), 20_000, describe);
  assert.equal(second.node, target);
  await waitFor("the proxies to route to the new active only", async () => {
    for (const id of [1, 2, 3]) for (let k = 0; k < 4; k++) if ((await servedBy(id)) !== second.instance) return false;
    return true;
  }, 15_000, describe);
  loading = false;
  await load;
  assert.equal(lost, 0, "no request of the retrying client was lost");
  assert.ok(done > 10, `the client kept sending (${done} requests)`);
  t.diagnostic(`switchover under load: ${done} requests, none lost; the longest took ${longestRetryMs} ms with retries`);
  // The old active was demoted (stopped) and runs again as a warm standby.
  await waitFor("3 healthy instances again", async () => healthyCurrent(await service(f.reader, "web")).length === 3, 20_000, describe);
  t.diagnostic(`active moved from ${first.instance} (token ${first.token}) to ${second.instance} (token ${second.token})`);
  // Deleting the service: every instance stops and the holder releases the active record itself.
  await f.admin.call("POST", "/v3/phalanx/services/delete", { name: "web" }, false);
  await waitFor("the active record released and every instance gone", async () => {
    const active = await f.reader.get("/phalanx/active/web");
    return active.kvs.length === 0 && (await service(f.reader, "web")) === undefined;
  }, 20_000, describe);
});

test("SIGSTOP of a whole node (agent, instance, watchdogs) then SIGCONT: the resumed old active is gone at once and its token is stale; flap damping then holds a promotion back and `phalanx service` says why", { timeout: 150_000 }, async (t) => {
  const f = await startServicesFixture();
  t.after(() => f.close());
  const app = await writeActingApp(f);
  await applyText(f.admin, activeStandbyService(f, app));
  const describe = async (): Promise<string> => `${await describeService(f.reader, "db")}\n${JSON.stringify((await service(f.reader, "db"))?.failover)}`;
  const first = await waitFor("a healthy active", () => healthyActive(f, "db"), 30_000, describe);
  const pid1 = (await actingPid(f, first.instance))!;

  // Freeze everything of the holder's node: its agent and every process under it (instance, fencing watchdog, supervisor watchdog).
  const frozen = [f.cluster.pid(first.node), ...descendants(f.cluster.pid(first.node))];
  assert.ok(frozen.includes(pid1), "the instance is among the frozen processes");
  for (const p of frozen) process.kill(p, "SIGSTOP");
  let resumed = false;
  const resume = (): void => {
    if (resumed) return;
    resumed = true;
    for (const p of frozen) {
      try {
        process.kill(p, "SIGCONT");
      } catch {
        // gone
      }
    }
  };
  t.after(resume);
  const second = await waitFor("a standby promoted while the old node is frozen", () => healthyActive(f, "db", first.node), 20_000, describe);
  assert.ok(second.token > first.token);
  assert.ok(alive(pid1), "the frozen instance still exists (nothing on its machine ran)");
  const resumedAt = Date.now();
  resume();
  // At SIGCONT the fencing deadline has long passed: the watchdog (or the agent) ends the old active at once.
  await recordDeath(f, first.instance, pid1, 5_000);
  const goneAfterMs = Date.now() - resumedAt;
  const endpoint = f.cluster.endpoints([first.node])[0]!;
  // Its node lease may have expired meanwhile (its placement moved: 404), else it answers "not active".
  const st = await waitFor("the resumed node's endpoint to answer", async () => {
    const r = await fetch(`http://${endpoint}/v3/phalanx/active?service=db`);
    return { status: r.status, body: (await r.json()) as { active?: boolean } };
  }, 10_000);
  assert.ok(st.status === 404 || (st.status === 200 && st.body.active === false), `the resumed node does not claim the role: ${JSON.stringify(st)}`);
  const report = await judgeRun(f);
  const old = report.intervals.find((i) => i.instance === first.instance)!;
  assert.ok(old.token < second.token, `the resumed instance's token ${old.token} is stale against ${second.token}`);
  t.diagnostic(`whole-node freeze: the resumed old active was gone ${goneAfterMs} ms after SIGCONT`);

  // Damping: set the threshold to the failovers seen so far (the freeze's, and any the loaded machine
  // caused at start) with a 60 s pause; flapDamping does not change the revision, so nothing rolls.
  const s1 = await service(f.reader, "db");
  const seen = Number(/^(\d+) promotion/.exec(s1?.failover?.damping ?? "")?.[1]);
  assert.ok(seen >= 1, `the freeze's failover counts: ${s1?.failover?.damping}`);
  const applied = await applyText(f.admin, activeStandbyService(f, app, { extra: `    flapDamping: { threshold: ${seen}, backoffBaseMs: 60000 }` }));
  assert.equal(applied.applied[0]?.change, "updated (no roll-out)");
  await waitFor("the damping line to say the next failover waits", async () => /held back/.test((await service(f.reader, "db"))?.failover?.damping ?? ""), 10_000, describe);
  const pid2 = (await actingPid(f, second.instance))!;
  await f.cluster.kill(second.node);
  await recordDeath(f, second.instance, pid2);
  const held = await waitFor("the next promotion held back by damping", async () => {
    const s = await service(f.reader, "db");
    return s?.failover?.active === null && /held back/.test(s.failover.damping) ? s : undefined;
  }, 20_000, describe);
  assert.match(held.failover!.damping, new RegExp(`${seen} promotion\\(s\\).*held back for \\d+ s`));
  const out = await phalanxCli(f, ["service", "db"], false, [1, 2, 3].filter((id) => id !== second.node));
  assert.match(out, /active: none/);
  assert.match(out, new RegExp(`damping: ${seen} promotion\\(s\\) in the last 600 s \\(threshold ${seen} reached\\): next promotion held back for \\d+ s`));
  assert.match(out, /last promotion: node .* ago \(no active record/);
});
