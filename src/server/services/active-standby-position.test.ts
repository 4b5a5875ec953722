// Promotion by reported position with real agent processes on loopback (issue 11, Deliver 2): two
// warm standbys report different positions through the service's `position` command (a script
// reading a file the test writes); kill -9 of the active's agent promotes the more caught-up one,
// even where the placement preference alone would pick the other.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { applyText, describeService, service, startServicesFixture, waitFor } from "../../testing/services-testkit.js";
import { healthyActive } from "../../testing/failover-testkit.js";

test("kill -9 of the active's agent promotes the warm standby with the larger reported position, not the preferred one", { timeout: 120_000 }, async (t) => {
  const f = await startServicesFixture();
  t.after(() => f.close());
  // The command runs in the instance's environment: it fails without PORT or PHALANX_INSTANCE (ranked last).
  const script = `[ -n "$PORT" ] && [ "$PHALANX_ROLE" = standby ] && cat "${f.dir}/pos-$PHALANX_INSTANCE"`;
  await applyText(f.admin, [
    "services:",
    "  - name: db",
    `    run: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(f.appFile)}] }`,
    "    mode: active-standby",
    "    standbys: 2",
    "    standby: warm",
    "    ports: [{ name: http }]",
    "    healthCheck: { type: http, path: /healthz, intervalMs: 100, timeoutMs: 100, rise: 1, fall: 2, startGraceMs: 500 }",
    "    restart: { backoffInitialMs: 100, backoffMaxMs: 500, maxRestarts: 3 }",
    "    stop: { timeoutMs: 2000 }",
    "    placement: { labels: { role: app } }",
    `    position: { command: /bin/sh, args: ["-c", ${JSON.stringify(script)}], timeoutMs: 200, intervalMs: 200 }`,
    "",
  ].join("\n"));
  const describe = async (): Promise<string> => `${await describeService(f.reader, "db")}\n${JSON.stringify(await service(f.reader, "db"))}`;
  const first = await waitFor("a healthy active", () => healthyActive(f, "db"), 30_000, describe);
  const standbys = await waitFor("two healthy warm standbys on the other nodes, their position commands failing (no file yet)", async () => {
    const s = (await service(f.reader, "db"))?.instances.filter((i) => i.placed && i.node !== first.node && i.healthy && i.position === null);
    return s?.length === 2 ? s : undefined;
  }, 30_000, describe);

  // Give the larger position to the standby the placement preference would NOT pick: the one on the
  // Raft leader's node when there is one (preference puts it last), else the higher node id (the tie-break picks the lower).
  const leader = await f.cluster.leader();
  const sorted = [...standbys].sort((a, b) => a.node - b.node);
  const winner = sorted.find((i) => i.node === leader) ?? sorted[1]!;
  const loser = sorted.find((i) => i !== winner)!;
  await writeFile(join(f.dir, `pos-${winner.id}`), "5000\n");
  await writeFile(join(f.dir, `pos-${loser.id}`), "100\n");
  await waitFor("both positions reported in the instance records", async () => {
    const rows = (await service(f.reader, "db"))?.instances ?? [];
    return rows.find((i) => i.id === winner.id)?.position === 5000 && rows.find((i) => i.id === loser.id)?.position === 100;
  }, 15_000, describe);

  await f.cluster.kill(first.node);
  const second = await waitFor("a standby promoted on another node", () => healthyActive(f, "db", first.node), 30_000, describe);
  assert.equal(second.node, winner.node, `the standby at position 5000 (node ${winner.node}) is promoted, not the one at 100 (node ${loser.node}); leader was ${leader}`);
  assert.ok(second.token > first.token, `the new token ${second.token} is above the old ${first.token}`);
  const last = (await service(f.reader, "db"))?.failover?.lastPromotion;
  assert.equal(last?.node, winner.node);
});
