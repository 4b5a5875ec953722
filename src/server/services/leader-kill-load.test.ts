// kill -9 of the Raft leader under load, with real agent processes: the surviving nodes keep their
// leases, their instances keep serving, and no GET through a surviving node's proxy fails (the proxy
// retries a refused attempt on another replica). bench:replace once lost every node lease in such a
// round — the new leader's keep-alives waited behind linearizable reads asked of the dead leader —
// and the controller then stopped the live nodes' instances (503s until they were back).
import { test } from "node:test";
import assert from "node:assert/strict";
import { freePort } from "../../cli/commands/dev.js";
import {
  applyText, describeService, healthyCurrent, proxyHost, service, startServicesFixture, startSteadyGets, TEST_NODE_LEASE_TTL_MS, waitFor, webService,
} from "../../testing/services-testkit.js";

test("kill -9 of the leader under load: survivors keep their instances and no GET through a surviving node's proxy fails", { timeout: 120_000 }, async (t) => {
  const f = await startServicesFixture();
  t.after(() => f.close());
  const describe = (): Promise<string> => describeService(f.reader, "web");
  const port = await freePort();
  await applyText(f.admin, webService(f, { replicas: 3, extra: `    expose: { listen: 127.0.0.1:${port}, protocol: http }` }));
  const first = await waitFor("3 healthy", async () => { const h = healthyCurrent(await service(f.reader, "web")); return h.length === 3 ? h : undefined; }, 30_000, describe);
  const leader = await f.cluster.leader();
  const survivors = [1, 2, 3].filter((id) => id !== leader);
  const entry = proxyHost(survivors[0]!);
  await waitFor(`node ${survivors[0]}'s proxy to serve web`, async () => (await fetch(`http://${entry}:${port}/`, { signal: AbortSignal.timeout(1000) })).status === 200, 20_000);

  let running = true;
  // Linearizable reads on each survivor all along (as the CLI and the benchmark's store polls do):
  // when the leader dies, some are waiting for its ReadIndex answer.
  const readers = survivors.map((id) => f.cluster.client({ endpoints: f.cluster.endpoints([id]), maxAttempts: 1 }));
  let readsAnswered = 0;
  const reads = readers.flatMap((c) => [0, 1].map(async () => {
    while (running) await c.get("/reads/under/test").then(() => readsAnswered++, () => undefined);
  }));
  const load = startSteadyGets(`http://${entry}:${port}/`);
  let result: { ok: number; failures: string[] } | null = null;
  const kept = first.filter((i) => i.node !== leader).map((i) => i.id).sort();
  try {
    await f.cluster.kill(leader);
    await f.cluster.leader(30_000, survivors);
    // The dead node's instance leaves the store with its lease, one TTL after the new leader took
    // over: the moment every other lease would go too if their keep-alives had not reached it.
    await waitFor("the dead node's instance out of the store", async () => !(await service(f.reader, "web"))?.instances.some((i) => i.node === leader && i.placed && i.healthy), 30_000, describe);
    // Watch the survivors' instances for two more TTLs: the same ones, placed and healthy.
    const watchUntilMs = Date.now() + 2 * TEST_NODE_LEASE_TTL_MS;
    while (Date.now() < watchUntilMs) {
      const s = await service(f.reader, "web");
      const still = healthyCurrent(s).filter((i) => i.node !== leader).map((i) => i.id).sort();
      assert.deepEqual(still, kept, `the surviving nodes' instances changed after the leader's death:\n${await describe()}`);
      await new Promise((r) => setTimeout(r, 100)); // the observation's pace, not a synchronisation
    }
  } finally {
    running = false;
    result = await load.stop();
    await Promise.all(reads);
    await Promise.all(readers.map((c) => c.close()));
  }
  const { ok, failures } = result;
  t.diagnostic(`through node ${survivors[0]}'s proxy: ${ok} requests answered, ${failures.length} failed across the leader's kill; ${readsAnswered} linearizable reads on the survivors`);
  assert.ok(ok > 0, "requests went through");
  assert.ok(readsAnswered > 0, "the survivors served linearizable reads");
  assert.deepEqual(failures, [], "no request failed");
});
