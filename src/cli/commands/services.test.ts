// The service commands against a real 3-node cluster: dry-run, apply (admin token only), services,
// service, rollout status, events, drain, delete, and status showing each node's lease and instances.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { healthyCurrent, service, startServicesFixture, waitFor, webService } from "../../testing/services-testkit.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const cli = ["--import", "tsx", join(root, "src/cli/main.ts")];

function phalanx(args: readonly string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...cli, ...args], { cwd: root, env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
    });
  });
}

test("phalanx apply --dry-run, apply, services, service, rollout status, events, logs, drain, delete service, status", { timeout: 120_000 }, async (t) => {
  const f = await startServicesFixture();
  t.after(() => f.close());
  const file = join(f.dir, "web.yaml");
  await writeFile(file, webService(f));
  const reader = { PHALANX_ENDPOINTS: f.cluster.endpoints().join(","), PHALANX_TOKEN: f.cluster.token };
  const admin = { ...reader, PHALANX_ADMIN_TOKEN: f.cluster.adminToken };

  const dry = await phalanx(["apply", "-f", file, "--dry-run"], reader);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /Dry run, nothing changed/);
  assert.match(dry.stdout, /\+ start on \d/);
  assert.equal(await service(f.reader, "web"), undefined, "the dry run changed nothing");

  const refused = await phalanx(["apply", "-f", file], reader);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /admin token/);

  const applied = await phalanx(["apply", "-f", file], admin);
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /web: created/);
  await waitFor("2 healthy", async () => healthyCurrent(await service(f.reader, "web")).length === 2, 30_000);

  const list = await phalanx(["services", "--json"], reader);
  const services = (JSON.parse(list.stdout) as { services: { name: string; healthy: number }[] }).services;
  assert.deepEqual(services.map((s) => [s.name, s.healthy]), [["web", 2]]);
  const one = await phalanx(["service", "web"], reader);
  assert.match(one.stdout, /INSTANCE\s+NODE\s+STATE\s+HEALTH\s+RESTARTS\s+UPTIME\s+PORT/);
  assert.equal(one.stdout.split("\n").filter((l) => / healthy /.test(l)).length, 2);
  assert.match((await phalanx(["rollout", "status", "web"], reader)).stdout, /done/);
  const events = (await phalanx(["events", "--json"], reader)).stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string });
  assert.ok(events.some((e) => e.type === "instance_healthy"));

  // Logs come from the node running each instance, one prefix per instance.
  const logs = await phalanx(["logs", "web"], reader);
  assert.equal(logs.code, 0, logs.stderr);
  const served = logs.stdout.split("\n").filter((l) => / \| .*stdout serving web-/.test(l));
  assert.equal(new Set(served.map((l) => l.split(" | ")[0])).size, 2, logs.stdout);

  const bad = await phalanx(["drain", "nosuchnode"], admin);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /No registered node named "nosuchnode"/);
  const onNode = healthyCurrent(await service(f.reader, "web"))[0]!.nodeName!;
  assert.equal((await phalanx(["drain", onNode], admin)).code, 0);
  const status = await phalanx(["status", "--json"], reader);
  const members = (JSON.parse(status.stdout) as { members: { name: string; services: string; instances: number }[] }).members;
  assert.equal(members.find((m) => m.name === onNode)?.services, "draining");
  assert.ok(members.every((m) => m.services === "up" || m.name === onNode));

  const del = await phalanx(["delete", "service", "web"], admin);
  assert.equal(del.code, 0, del.stderr);
  await waitFor("every instance of web gone", async () => (await service(f.reader, "web")) === undefined, 30_000);
});
