// Services with real agent processes on loopback (src/testing/services-testkit.ts): apply, 3 replicas spread,
// refusals of the client token, an instance killed and restarted, drain and undrain, a rolling
// update, a roll-out halted by a never-healthy version and undone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PhalanxError } from "../../client/errors.js";
import { freePort } from "../../cli/commands/dev.js";
import { applyText, describeService, healthyCurrent, proxyHost, service, startServicesFixture, startSteadyGets, waitFor, webService } from "../../testing/services-testkit.js";

test("apply places 3 healthy replicas spread over the 3 nodes; the client token may read but not apply, delete or drain; a killed instance is restarted", { timeout: 90_000 }, async (t) => {
  const f = await startServicesFixture();
  t.after(() => f.close());
  const text = webService(f, { replicas: 3 });

  for (const [path, body] of [["/v3/phalanx/services/apply", { file: "web.yaml", text }], ["/v3/phalanx/services/delete", { name: "web" }], ["/v3/phalanx/nodes/drain", { node: 1 }]] as const) {
    await assert.rejects(f.reader.call("POST", path, body, false), (err: unknown) => err instanceof PhalanxError && err.status === 403 && /admin token/.test(err.message), `client token on ${path}`);
  }

  const r = await applyText(f.admin, text, "web.yaml");
  assert.equal(r.applied[0]?.change, "created");
  const healthy = await waitFor("3 healthy instances of web", async () => {
    const h = healthyCurrent(await service(f.reader, "web"));
    return h.length === 3 ? h : undefined;
  }, 30_000, () => describeService(f.reader, "web"));
  assert.equal(new Set(healthy.map((i) => i.node)).size, 3, "one replica per node");

  // Kill one instance's process: its agent restarts it (same id, restarts counted) and it is healthy again.
  const victim = healthy[0]!;
  const port = Object.values(victim.ports)[0]!;
  const answer = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { instance: string; pid: number };
  assert.equal(answer.instance, victim.id, "the instance answers on its reported port");
  const pid = answer.pid;
  process.kill(pid, "SIGKILL");
  await waitFor("the killed instance restarted and healthy", async () => {
    const s = await service(f.reader, "web");
    const i = s?.instances.find((x) => x.id === victim.id);
    return i !== undefined && i.restarts >= 1 && i.healthy;
  }, 30_000, () => describeService(f.reader, "web"));
  const after = healthyCurrent(await service(f.reader, "web"));
  assert.deepEqual(after.map((i) => i.id).sort(), healthy.map((i) => i.id).sort(), "restarted in place, not replaced");

  // A second apply of the same file changes nothing.
  assert.equal((await applyText(f.admin, text, "web.yaml")).applied[0]?.change, "unchanged");
});

/** Samples a number until stopped; returns the minimum seen (and the maximum through `max`). */
function sampleHealthy(read: () => Promise<number>): { stop(): Promise<number>; max(): number } {
  let min = Infinity;
  let max = -Infinity;
  let running = true;
  const loop = (async () => {
    while (running) {
      const v = await read().catch(() => null);
      if (v !== null) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return { async stop() { running = false; await loop; return min; }, max: () => max };
}

test("drain moves instances away with the replacement healthy first; a rolling update never drops below the replicas; a never-healthy version halts and is undone", { timeout: 120_000 }, async (t) => {
  const f = await startServicesFixture();
  t.after(() => f.close());
  const describe = (): Promise<string> => describeService(f.reader, "web");
  const healthyAll = async (): Promise<number> => ((await service(f.reader, "web"))?.instances ?? []).filter((i) => i.placed && i.healthy).length;
  await applyText(f.admin, webService(f));
  const first = await waitFor("2 healthy", async () => { const h = healthyCurrent(await service(f.reader, "web")); return h.length === 2 ? h : undefined; }, 30_000, describe);

  // Drain a node holding an instance.
  const drained = first[0]!.node;
  const duringDrain = sampleHealthy(healthyAll);
  await f.admin.call("POST", "/v3/phalanx/nodes/drain", { node: drained }, false);
  const moved = await waitFor("instances off the drained node", async () => {
    const s = await service(f.reader, "web");
    const h = healthyCurrent(s);
    return h.length === 2 && s!.instances.every((i) => i.node !== drained) ? h : undefined;
  }, 30_000, describe);
  assert.ok(await duringDrain.stop() >= 2, "never fewer than 2 healthy during the drain");
  assert.ok(moved.every((i) => i.node !== drained));
  await f.admin.call("POST", "/v3/phalanx/nodes/undrain", { node: drained }, false);

  // Rolling update: a new env value rolls both instances, one at a time, each new one healthy first.
  const before = await service(f.reader, "web");
  const duringRoll = sampleHealthy(healthyAll);
  // Instances placed and not yet healthy at once: maxSurge 1 means one new instance at a time.
  const startingAtOnce = sampleHealthy(async () => ((await service(f.reader, "web"))?.instances ?? []).filter((i) => i.placed && !i.healthy).length);
  const r = await applyText(f.admin, webService(f, { env: { VERSION: "2" } }));
  assert.equal(r.applied[0]?.change, "rolling out");
  await waitFor("revision 2 everywhere", async () => {
    const s = await service(f.reader, "web");
    return s !== undefined && s.revision !== before?.revision && healthyCurrent(s).length === 2 && s.instances.every((i) => i.revision === s.revision);
  }, 45_000, describe);
  assert.ok(await duringRoll.stop() >= 2, "never fewer than 2 healthy during the roll-out");
  await startingAtOnce.stop();
  assert.equal(startingAtOnce.max(), 1, "one new instance at a time (and one was seen starting)");
  const rollEvents = (await f.reader.call("GET", "/v3/phalanx/events?limit=1000", undefined, true)).events as { type: string; message: string }[];
  assert.ok(rollEvents.some((e) => e.type === "rollout_started"), "an event says the roll-out started");
  assert.ok(rollEvents.filter((e) => e.type === "rollout_step").length >= 2, "one step per instance");
  await waitFor("a rollout_done event", async () => ((await f.reader.call("GET", "/v3/phalanx/events?limit=1000", undefined, true)).events as { type: string }[]).some((e) => e.type === "rollout_done"), 10_000);
  const v2 = await service(f.reader, "web");

  // A version that never gets healthy: the roll-out halts, the old instances keep serving.
  await applyText(f.admin, webService(f, { env: { VERSION: "3", HEALTHY: "0" }, maxRestarts: 1 }));
  const halted = await waitFor("the roll-out halted", async () => {
    const s = await service(f.reader, "web");
    return s !== undefined && s.rollout.haltedRevision === s.revision ? s : undefined;
  }, 45_000, describe);
  const oldServing = halted.instances.filter((i) => i.revision === v2?.revision && i.healthy);
  assert.equal(oldServing.length, 2, "both old instances still serve");
  const events = (await f.reader.call("GET", "/v3/phalanx/events?limit=1000", undefined, true)).events as { type: string }[];
  assert.ok(events.some((e) => e.type === "rollout_failed" || e.type === "rollout_halted"), "an event says the roll-out stopped");
  assert.ok(events.some((e) => e.type === "instance_failed"), "an event says the new instance failed");

  // Undo: back to revision 2, nothing to roll (its instances never stopped), halt cleared.
  const undone = await f.admin.call("POST", "/v3/phalanx/rollouts/undo", { name: "web" }, false);
  assert.equal(undone.revision, v2?.revision);
  await waitFor("revision 2 again, healthy, not halted", async () => {
    const s = await service(f.reader, "web");
    return s !== undefined && s.revision === v2?.revision && s.rollout.haltedRevision === null && healthyCurrent(s).length === 2;
  }, 30_000, describe);
});

test("an exposed service is served by every node's proxy, and keeps being served through a drain and a rolling update", { timeout: 120_000 }, async (t) => {
  const f = await startServicesFixture();
  t.after(() => f.close());
  const describe = (): Promise<string> => describeService(f.reader, "web");
  const port = await freePort();
  const expose = `    expose: { listen: 127.0.0.1:${port}, protocol: http }`;
  await applyText(f.admin, webService(f, { extra: expose }));
  const first = await waitFor("2 healthy", async () => { const h = healthyCurrent(await service(f.reader, "web")); return h.length === 2 ? h : undefined; }, 30_000, describe);
  for (const id of [1, 2, 3]) {
    await waitFor(`node ${id}'s proxy to serve web`, async () => {
      const r = await fetch(`http://${proxyHost(id)}:${port}/`, { signal: AbortSignal.timeout(1000) });
      const body = (await r.json()) as { instance: string };
      return r.status === 200 && first.some((i) => i.id === body.instance);
    }, 20_000);
  }

  // Steady requests through one node's proxy while a node is drained and the service rolled.
  const entry = proxyHost(await f.cluster.leader());
  const load = startSteadyGets(`http://${entry}:${port}/`);
  let result: { ok: number; failures: string[] } | null = null;
  try {
    const drained = first[0]!.node;
    await f.admin.call("POST", "/v3/phalanx/nodes/drain", { node: drained }, false);
    await waitFor("instances off the drained node", async () => {
      const s = await service(f.reader, "web");
      return healthyCurrent(s).length === 2 && s!.instances.every((i) => i.node !== drained);
    }, 30_000, describe);
    await applyText(f.admin, webService(f, { extra: expose, env: { VERSION: "2" } }));
    await waitFor("revision 2 everywhere", async () => {
      const s = await service(f.reader, "web");
      return s !== undefined && healthyCurrent(s).length === 2 && s.instances.every((i) => i.revision === s.revision);
    }, 45_000, describe);
  } finally {
    result = await load.stop();
  }
  const { ok, failures } = result;
  t.diagnostic(`through node proxy ${entry}: ${ok} requests answered, ${failures.length} failed during a drain and a roll-out${failures.length > 0 ? `: ${[...new Set(failures)].join("; ")}` : ""}`);
  assert.ok(ok > 0, "requests went through");
  assert.deepEqual(failures, [], "no request failed");
});
