// The example service file maps onto instance specs the supervisor accepts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadServiceFile } from "../config/service-file.js";
import { instanceSpecFromService } from "./from-service.js";

test("instanceSpecFromService maps the example services: ports, checks, restart, stop, user", async () => {
  const services = await loadServiceFile(fileURLToPath(new URL("../../examples/services.yaml", import.meta.url)));
  const web = services.find((s) => s.name === "web");
  assert.ok(web !== undefined);
  const spec = instanceSpecFromService(web, "web-abc");
  assert.equal(spec.instanceId, "web-abc");
  assert.deepEqual(spec.run, { command: "/usr/bin/node", args: ["server.js"] });
  assert.equal(spec.cwd, "/srv/web");
  assert.deepEqual(spec.ports, [{ name: "http", env: "PORT" }], "no number: the supervisor picks one");
  assert.equal(spec.healthCheck?.type, "http");
  assert.equal(spec.healthCheck?.startGraceMs, 5000);
  assert.deepEqual(spec.restart, { policy: "always", backoffInitialMs: 500, backoffMultiplier: 2, backoffMaxMs: 30_000, resetAfterMs: 60_000, maxRestarts: 5 });
  assert.deepEqual(spec.stop, { signal: "SIGTERM", timeoutMs: 10_000 });
  const worker = services.find((s) => s.name === "queue-worker");
  assert.ok(worker !== undefined);
  const w = instanceSpecFromService(worker, "w-1");
  assert.equal(w.user, "worker");
  assert.equal(w.healthCheck?.type, "exec");
  assert.equal(w.cwd, undefined);
});
