// The bridge from specs to the scheduler: revisions change exactly when instances must be rolled.
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatIssue } from "./errors.js";
import { parseServiceFile } from "./service-file.js";
import { serviceRevision, toServiceDemand } from "./service-demand.js";
import type { ServiceSpec } from "./service.js";

function spec(text: string): ServiceSpec {
  const r = parseServiceFile(text, "/srv/s.yaml");
  assert.ok(r.ok, r.ok ? "" : r.issues.map(formatIssue).join("\n"));
  return r.value[0]!;
}

const BASE = "name: web\nrun: { command: node, args: [a.js] }\nenv: { A: x, B: y }\nports: [{ name: http, port: 8080 }]\n";

test("the revision ignores key order, replicas, placement, update and expose, and follows what shapes an instance", () => {
  const base = serviceRevision(spec(BASE));
  assert.match(base, /^[0-9a-f]{16}$/);
  assert.equal(serviceRevision(spec("run: { args: [a.js], command: node }\nname: web\nports: [{ port: 8080, name: http }]\nenv: { B: y, A: x }\n")), base);
  assert.equal(serviceRevision(spec(`${BASE}replicas: 5\nplacement: { labels: { role: app } }\nupdate: { maxSurge: 2 }\n`)), base);
  assert.notEqual(serviceRevision(spec(BASE.replace("A: x", "A: z"))), base);
  assert.notEqual(serviceRevision(spec(BASE.replace("[a.js]", "[b.js]"))), base);
  assert.notEqual(serviceRevision(spec(`${BASE}stop: { timeoutMs: 1 }\n`)), base);
});

test("toServiceDemand carries placement, fixed ports and roll-out limits; active-standby places its standbys too (cold ones are held unstarted by their agent)", () => {
  const d = toServiceDemand(spec(`${BASE}replicas: 3\nplacement: { labels: { role: app }, spreadBy: zone }\nupdate: { maxSurge: 2, maxUnavailable: 1 }\n`), { revision: "r9" });
  assert.deepEqual(d, { name: "web", revision: "r9", count: 3, labels: { role: "app" }, spreadBy: "zone", maxPerNode: 1, fixedPorts: [8080], maxSurge: 2, maxUnavailable: 1 });
  assert.equal(toServiceDemand(spec("name: s\nrun: { command: x }\nmode: active-standby\nstandbys: 2\n")).count, 3);
  assert.equal(toServiceDemand(spec("name: s\nrun: { command: x }\nmode: active-standby\nstandbys: 2\nstandby: cold\n")).count, 3);
});
