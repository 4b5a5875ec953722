// Services when things go wrong, with real agent processes: an agent killed with kill -9 (its
// instances die with it, its keys vanish when its node lease expires, its replicas are replaced on
// the other nodes), a flapping health check (no storm of replacements), and bad input (unknown
// field, port clash, missing command, unplaceable) refused precisely or reported as events.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { PhalanxError } from "../../client/errors.js";
import { applyText, describeService, healthyCurrent, service, startServicesFixture, TEST_NODE_LEASE_TTL_MS, waitFor, webService } from "../../testing/services-testkit.js";
import { INSTANCE_PREFIX, NODE_PREFIX } from "./layout.js";

test("kill -9 of an agent: its instances die, its keys vanish when its lease expires, its replica is replaced on another node", { timeout: 90_000 }, async (t) => {
  const f = await startServicesFixture();
  t.after(() => f.close());
  const describe = (): Promise<string> => describeService(f.reader, "web");
  await applyText(f.admin, webService(f));
  const first = await waitFor("2 healthy", async () => { const h = healthyCurrent(await service(f.reader, "web")); return h.length === 2 ? h : undefined; }, 30_000, describe);
  const leader = await f.cluster.leader();
  const victim = first.find((i) => i.node !== leader)!;
  const victimPort = Object.values(victim.ports)[0]!;

  const killedAt = Date.now();
  await f.cluster.kill(victim.node);
  // The watchdog kills the instances of a dead agent: nothing answers on the victim's port.
  await waitFor("the dead agent's instance to stop serving", async () => {
    try {
      await fetch(`http://127.0.0.1:${victimPort}/`, { signal: AbortSignal.timeout(500) });
      return false;
    } catch {
      return true;
    }
  }, 10_000);
  const keysGone = await waitFor("the dead node's keys to vanish", async () => {
    const nodeKeys = await f.reader.get(`${NODE_PREFIX}${victim.node}`);
    const instanceKeys = await f.reader.get(`${INSTANCE_PREFIX}${victim.node}/`, { prefix: true });
    return nodeKeys.kvs.length === 0 && instanceKeys.kvs.length === 0 ? Date.now() : undefined;
  }, 15_000);
  const replaced = await waitFor("a replacement healthy on another node", async () => {
    const s = await service(f.reader, "web");
    const h = healthyCurrent(s);
    return h.length === 2 && h.every((i) => i.node !== victim.node) ? Date.now() : undefined;
  }, 20_000, describe);
  t.diagnostic(`node lease ${TEST_NODE_LEASE_TTL_MS} ms: keys gone after ${keysGone - killedAt} ms, replacement healthy after ${replaced - killedAt} ms`);
  const events = (await f.reader.call("GET", "/v3/phalanx/events?limit=1000", undefined, true)).events as { type: string; node?: number }[];
  assert.ok(events.some((e) => e.type === "node_down" && e.node === victim.node), "a node_down event names the dead node");
});

test("a flapping health check does not cause a storm of replacements", { timeout: 90_000 }, async (t) => {
  const f = await startServicesFixture();
  t.after(() => f.close());
  await applyText(f.admin, webService(f, { name: "flappy", replicas: 1, env: { FLAP_MS: "400" }, maxRestarts: 3 }));
  const placements = new Set<string>();
  const start = Date.now();
  let unhealthySeen = 0;
  while (Date.now() - start < 10_000) {
    const s = await service(f.reader, "flappy");
    for (const i of s?.instances ?? []) {
      placements.add(i.id);
      if (i.state === "unhealthy" || i.state === "backoff" || i.state === "stopping") unhealthySeen++;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(unhealthySeen > 0, "the instance did flap (else this test shows nothing)");
  const events = (await f.reader.call("GET", "/v3/phalanx/events?limit=1000", undefined, true)).events as { type: string; service?: string }[];
  const failures = events.filter((e) => e.type === "instance_failed" && e.service === "flappy").length;
  t.diagnostic(`10 s of flapping: ${unhealthySeen} unhealthy samples, ${failures} failures, ${placements.size} instances placed`);
  // Each flap is a restart on the node; only an instance that exhausted its restarts is replaced, and replacements back off.
  assert.ok(placements.size <= 1 + failures, `every replacement follows a failure: ${placements.size} instances, ${failures} failures`);
  assert.ok(placements.size <= 4, `at most 3 replacements in 10 s of flapping, saw ${placements.size} instances: ${[...placements].join(", ")}`);
});

test("bad input: unknown field and port clash refused with nothing applied; a missing command fails the instance with an event; unplaceable is an event; examples/services.yaml applies", { timeout: 90_000 }, async (t) => {
  const f = await startServicesFixture();
  t.after(() => f.close());

  // Unknown field: the whole file refused, naming file, line and field; the good service in it is not applied.
  const unknown = `${webService(f, { name: "good" })}  - name: bad\n    run: { command: /bin/true }\n    replicaz: 2\n`;
  await assert.rejects(applyText(f.admin, unknown, "two.yaml"), (err: unknown) => err instanceof PhalanxError && err.status === 400 && /two\.yaml:\d+:\d+/.test(err.message) && /replicaz/.test(err.message) && /nothing was applied/.test(err.message));
  assert.equal(await service(f.reader, "good"), undefined, "nothing of the file was applied");

  // Port clash with a stored service's exposed port.
  await applyText(f.admin, webService(f, { name: "front", replicas: 1, extra: "    expose: { listen: 127.0.0.1:18080, protocol: http }" }));
  const clash = `services:\n  - name: other\n    run: { command: /bin/sleep, args: ["100"] }\n    ports: [{ name: http, port: 18080 }]\n`;
  await assert.rejects(applyText(f.admin, clash, "clash.yaml"), (err: unknown) => err instanceof PhalanxError && err.status === 400 && /18080/.test(err.message) && /front/.test(err.message));
  assert.equal(await service(f.reader, "other"), undefined);

  // A command that does not exist: the instance fails with the supervisor's message, and an event says so.
  await applyText(f.admin, `services:\n  - name: missing\n    run: { command: /nonexistent/program }\n    restart: { backoffInitialMs: 50, backoffMaxMs: 100, maxRestarts: 1 }\n`);
  const failed = await waitFor("an instance_failed event for the missing command", async () => {
    const events = (await f.reader.call("GET", "/v3/phalanx/events?limit=1000", undefined, true)).events as { type: string; service?: string; message: string }[];
    return events.find((e) => e.type === "instance_failed" && e.service === "missing");
  }, 30_000, () => describeService(f.reader, "missing"));
  assert.match(failed.message, /nonexistent/);

  // Unplaceable: a label no node has.
  await applyText(f.admin, `services:\n  - name: nowhere\n    run: { command: /bin/sleep, args: ["100"] }\n    placement: { labels: { role: db } }\n`);
  const unplaceable = await waitFor("an unplaceable event", async () => {
    const events = (await f.reader.call("GET", "/v3/phalanx/events?limit=1000", undefined, true)).events as { type: string; service?: string; message: string }[];
    return events.find((e) => e.type === "unplaceable" && e.service === "nowhere");
  }, 20_000);
  assert.match(unplaceable.message, /label/);

  // The example file applies (its programs need not exist here: their instances fail with events).
  const example = await readFile(new URL("../../../examples/services.yaml", import.meta.url), "utf8");
  const applied = await applyText(f.admin, example, "examples/services.yaml");
  assert.deepEqual(applied.applied.map((a) => a.name).sort(), ["queue-worker", "scheduler", "web"]);
});

test("kill -9 of the leader holding an instance: the next leader's controller resumes from the store and replaces it", { timeout: 90_000 }, async (t) => {
  const f = await startServicesFixture();
  t.after(() => f.close());
  const describe = (): Promise<string> => describeService(f.reader, "web");
  await applyText(f.admin, webService(f));
  const first = await waitFor("2 healthy", async () => { const h = healthyCurrent(await service(f.reader, "web")); return h.length === 2 ? h : undefined; }, 30_000, describe);
  let leader = await f.cluster.leader();
  if (!first.some((i) => i.node === leader)) {
    await f.admin.call("POST", "/v3/phalanx/transfer", { to: first[0]!.node }, false);
    leader = await waitFor("leadership on a node with an instance", async () => { const l = await f.cluster.leader(); return l === first[0]!.node ? l : undefined; }, 15_000);
  }
  await f.cluster.kill(leader);
  const survivors = [1, 2, 3].filter((id) => id !== leader);
  await f.cluster.leader(30_000, survivors);
  await waitFor("2 healthy on the surviving nodes", async () => {
    const h = healthyCurrent(await service(f.reader, "web"));
    return h.length === 2 && h.every((i) => i.node !== leader);
  }, 30_000, describe);
});

test("SIGTERM to an agent stops its instances and removes its keys before it exits", { timeout: 90_000 }, async (t) => {
  const f = await startServicesFixture();
  t.after(() => f.close());
  await applyText(f.admin, webService(f));
  const first = await waitFor("2 healthy", async () => { const h = healthyCurrent(await service(f.reader, "web")); return h.length === 2 ? h : undefined; }, 30_000, () => describeService(f.reader, "web"));
  const leader = await f.cluster.leader();
  const victim = first.find((i) => i.node !== leader)!;
  const port = Object.values(victim.ports)[0]!;
  f.cluster.signal(victim.node, "SIGTERM");
  await waitFor("the agent's instance stopped", async () => {
    try {
      await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(500) });
      return false;
    } catch {
      return true;
    }
  }, 20_000);
  await waitFor("its node and instance keys removed", async () => {
    const keys = await f.reader.get(`${INSTANCE_PREFIX}${victim.node}/`, { prefix: true });
    const node = await f.reader.get(`${NODE_PREFIX}${victim.node}`);
    return keys.kvs.length === 0 && node.kvs.length === 0;
  }, 20_000);
  const log = f.cluster.logTail(victim.node, 200);
  assert.match(log, /node deregistered/, "removed by the agent itself, not by the lease expiring");
});

test("an agent paused past its lease is replaced; resumed, it registers again and stops its stale instance (no extra copy)", { timeout: 90_000 }, async (t) => {
  const f = await startServicesFixture();
  t.after(() => f.close());
  const describe = (): Promise<string> => describeService(f.reader, "web");
  await applyText(f.admin, webService(f));
  const first = await waitFor("2 healthy", async () => { const h = healthyCurrent(await service(f.reader, "web")); return h.length === 2 ? h : undefined; }, 30_000, describe);
  const leader = await f.cluster.leader();
  const victim = first.find((i) => i.node !== leader)!;
  f.cluster.signal(victim.node, "SIGSTOP");
  try {
    await waitFor("a replacement healthy elsewhere", async () => {
      const h = healthyCurrent(await service(f.reader, "web"));
      return h.length === 2 && h.every((i) => i.node !== victim.node);
    }, 20_000, describe);
  } finally {
    f.cluster.signal(victim.node, "SIGCONT");
  }
  await waitFor("the node registered again", async () => (await f.reader.get(`${NODE_PREFIX}${victim.node}`)).kvs.length === 1, 20_000);
  await waitFor("its stale instance stopped and its report gone", async () => (await f.reader.get(`${INSTANCE_PREFIX}${victim.node}/`, { prefix: true })).kvs.length === 0, 20_000, describe);
  const s = await service(f.reader, "web");
  assert.equal(s?.instances.length, 2, await describe());
  assert.equal(healthyCurrent(s).length, 2);
});

test("a new version that stays unhealthy (restarting, never failed) halts its roll-out after update.healthyDeadlineMs", { timeout: 90_000 }, async (t) => {
  const f = await startServicesFixture();
  t.after(() => f.close());
  const describe = (): Promise<string> => describeService(f.reader, "web");
  const update = "    update: { maxSurge: 1, maxUnavailable: 0, healthyDeadlineMs: 1000 }";
  await applyText(f.admin, webService(f, { replicas: 1, extra: update }));
  const v1 = await waitFor("1 healthy", async () => { const s = await service(f.reader, "web"); return healthyCurrent(s).length === 1 ? s : undefined; }, 30_000, describe);
  await applyText(f.admin, webService(f, { replicas: 1, env: { VERSION: "2", HEALTHY: "0" }, maxRestarts: 1000, extra: update }));
  const halted = await waitFor("the roll-out halted by its deadline", async () => {
    const s = await service(f.reader, "web");
    return s !== undefined && s.revision !== v1.revision && s.rollout.haltedRevision === s.revision ? s : undefined;
  }, 30_000, describe);
  assert.ok(halted.instances.every((i) => i.state !== "failed"), "halted by the deadline, not by a failure");
  assert.equal(halted.instances.filter((i) => i.revision === v1.revision && i.healthy).length, 1, "the old instance keeps serving");
});
