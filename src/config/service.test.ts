// Service specs: the documented format parses with every default filled in, one or many services
// per file, and each mistake is reported with file:line:col, the field, what is wrong and the fix.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, formatIssue } from "./errors.js";
import { exposeToProxy } from "./expose.js";
import { SERVICE_DEFAULTS } from "./service.js";
import { loadServiceFile, parseServiceFile } from "./service-file.js";

const FILE = "/srv/services.yaml";
const EXAMPLE = new URL("../../examples/services.yaml", import.meta.url).pathname;

function errorsOf(text: string): string[] {
  const r = parseServiceFile(text, FILE);
  assert.equal(r.ok, false, "the file should have been refused");
  return r.ok ? [] : r.issues.map(formatIssue);
}

function parseOne(text: string) {
  const r = parseServiceFile(text, FILE);
  assert.ok(r.ok, r.ok ? "" : r.issues.map(formatIssue).join("\n"));
  assert.equal(r.value.length, 1);
  return r.value[0]!;
}

test("a one-service file gets every documented default", () => {
  const s = parseOne("name: web\nrun: { command: /usr/bin/node }\n");
  assert.equal(s.name, "web");
  assert.deepEqual(s.run, { command: "/usr/bin/node", args: [] });
  assert.equal(s.replicas, SERVICE_DEFAULTS.replicas);
  assert.equal(s.mode, "active-active");
  assert.equal(s.standbys, 0);
  assert.deepEqual(s.env, {});
  assert.deepEqual(s.ports, []);
  assert.equal(s.healthCheck, undefined);
  assert.deepEqual(s.restart, SERVICE_DEFAULTS.restart);
  assert.deepEqual(s.placement, SERVICE_DEFAULTS.placement);
  assert.deepEqual(s.stop, SERVICE_DEFAULTS.stop);
  assert.deepEqual(s.update, SERVICE_DEFAULTS.update);
  assert.equal(s.expose, null);
});

test("ports reach instances through PORT and PORT_<NAME>; env scalars become text", () => {
  const s = parseOne(`name: api
run: { command: node, args: [server.js] }
env: { DEBUG: 1, VERBOSE: true }
ports: [{ name: http }, { name: admin-api }, { name: metrics, env: METRICS_PORT, port: 9100 }]
healthCheck: { type: http, path: /healthz }
`);
  assert.deepEqual(s.env, { DEBUG: "1", VERBOSE: "true" });
  assert.deepEqual(s.ports, [
    { name: "http", env: "PORT", port: null },
    { name: "admin-api", env: "PORT_ADMIN_API", port: null },
    { name: "metrics", env: "METRICS_PORT", port: 9100 },
  ]);
  assert.deepEqual(s.healthCheck, { type: "http", path: "/healthz", intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3, startGraceMs: 10000 });
});

test("the example services.yaml parses: a services list with expose, exec checks and active-standby", async () => {
  const specs = await loadServiceFile(EXAMPLE);
  assert.deepEqual(specs.map((s) => s.name), ["web", "queue-worker", "scheduler"]);
  const [web, worker, sched] = specs as [typeof specs[0], typeof specs[0], typeof specs[0]];
  assert.equal(web.expose?.algorithm, "consistent-hash", "sticky implies consistent hashing");
  assert.equal(web.expose?.port, "http", "the first port is exposed when none is named");
  assert.deepEqual(web.expose?.listen, { host: "0.0.0.0", port: 8080 });
  assert.equal(worker.healthCheck?.type, "exec");
  assert.equal(worker.placement.spreadBy, "zone");
  assert.deepEqual([sched.mode, sched.replicas, sched.standbys, sched.standby], ["active-standby", 1, 1, "warm"]);
});

test("exposeToProxy derives the frontend and pool the proxy serves for an exposed service", async () => {
  const [web, worker] = await loadServiceFile(EXAMPLE);
  const derived = exposeToProxy(web!, "/srv");
  assert.ok(derived);
  assert.equal(derived.frontend.name, "web");
  assert.deepEqual(derived.frontend.routes, [{ pool: "web" }]);
  assert.deepEqual(derived.pool.hashOn, { kind: "cookie", name: "sid" });
  assert.equal(derived.pool.algorithm, "consistent-hash");
  assert.deepEqual(derived.pool.backends, []);
  assert.equal(derived.pool.healthCheck, null);
  assert.equal(exposeToProxy(worker!, "/srv"), null);
  const tcp = parseOne("name: db\nrun: { command: pg }\nports: [{ name: pg }]\nexpose: { listen: 0.0.0.0:5432, protocol: tcp }\n");
  assert.equal(exposeToProxy(tcp, "/srv")?.frontend.pool, "db");
  assert.equal(exposeToProxy(tcp, "/srv")?.pool.algorithm, "round-robin");
});

test("an unknown field points at its key; a missing one at the object lacking it", () => {
  assert.deepEqual(errorsOf("name: web\nrun: { command: x }\nreplica: 3\n"), [
    `${FILE}:3:1: replica: Unknown field "replica" — remove it or check its spelling`,
  ]);
  assert.deepEqual(errorsOf("name: web\nrun: { args: [a] }\n"), [
    `${FILE}:2:6: run.command: Missing required field "command" — add "command" (string)`,
  ]);
});

test("wrong values name the allowed ones, the bound or the form", () => {
  const errors = errorsOf(`name: Web_1
run: { command: "" }
cwd: srv
replicas: -1
stop: { signal: SIGKILL }
healthCheck: { type: grpc }
`);
  assert.deepEqual(errors, [
    `${FILE}:1:7: name: Name must be 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit`,
    `${FILE}:2:17: run.command: Command must not be empty — write at least 1 character(s)`,
    `${FILE}:3:6: cwd: Working directory must be an absolute path`,
    `${FILE}:4:11: replicas: Number must be greater than or equal to 0 — use a value of at least 0`,
    `${FILE}:6:22: healthCheck.type: Invalid kind — use one of: http, tcp, exec`,
    `${FILE}:5:17: stop.signal: Invalid value "SIGKILL" — use one of: SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2`,
  ]);
});

test("variable names, port names and label keys state the rule they break", () => {
  assert.deepEqual(errorsOf(`name: web
run: { command: x }
env: { 1BAD: x, OK: [1] }
ports: [{ name: HTTP }]
placement: { labels: { "bad key": x } }
healthCheck: { type: http, path: healthz, startGraceMs: -1 }
`), [
    `${FILE}:3:14: env.1BAD: Variable name must be letters, digits or '_', not starting with a digit`,
    `${FILE}:3:21: env.OK: Expected string, got array — write a string here`,
    `${FILE}:4:17: ports[0].name: Port name must be 1-32 lower-case letters, digits or '-', starting with a letter`,
    `${FILE}:6:34: healthCheck.path: Path must start with /`,
    `${FILE}:6:57: healthCheck.startGraceMs: Number must be greater than or equal to 0 — use a value of at least 0`,
    `${FILE}:5:35: placement.labels.bad key: Label must be 1-63 letters, digits, '_', '.', '/' or '-'`,
  ]);
});

test("expose takes the proxy's own field rules (addresses, timeouts, algorithms)", () => {
  const errors = errorsOf(`name: web
run: { command: x }
ports: [{ name: http }]
expose: { listen: 8080, algorithm: random, timeouts: { idleMs: 0 } }
`);
  assert.deepEqual(errors, [
    `${FILE}:4:19: expose.listen: Expected host:port, got "8080" — write it as 127.0.0.1:8080 or [::1]:8080`,
    `${FILE}:4:64: expose.timeouts.idleMs: Number must be greater than or equal to 1 — use a value of at least 1`,
    `${FILE}:4:36: expose.algorithm: Invalid value "random" — use one of: round-robin, weighted-round-robin, least-connections, p2c, consistent-hash`,
  ]);
});

test("service health checks share the proxy's rule that a timeout fits in the interval", () => {
  assert.deepEqual(errorsOf("name: w\nrun: { command: x }\nhealthCheck: { type: exec, command: check, intervalMs: 100, timeoutMs: 500 }\n"), [
    `${FILE}:3:72: healthCheck.timeoutMs: Timeout 500 ms is longer than the interval 100 ms — make timeoutMs at most intervalMs`,
  ]);
});

test("cross-field rules of a service and between services each name their own field", () => {
  const text = `services:
  - name: web
    run: { command: /usr/bin/node }
    replicas: 3
    env: { PORT: "1" }
    ports: [{ name: http, port: 8080 }]
    placement: { maxPerNode: 2, spreadBy: zone, labels: { zone: a } }
    healthCheck: { type: exec, command: "true", port: 3 }
    update: { maxSurge: 0 }
    expose: { listen: 0.0.0.0:8080, algorithm: p2c, sticky: { kind: clientIp }, port: web, tls: { certFile: a, keyFile: b } }
  - name: web
    run: { command: x }
    mode: active-standby
    replicas: 2
    restart: { backoffInitialMs: 5000, backoffMaxMs: 100 }
    healthCheck: { type: tcp }
    expose: { listen: 0.0.0.0:8080 }
  - name: c
    run: { command: x }
    standbys: 2
    standby: cold
`;
  assert.deepEqual(errorsOf(text), [
    `${FILE}:8:55: services[0].healthCheck.port: An exec check has no port — remove port, or use type: http or tcp`,
    `${FILE}:5:18: services[0].env.PORT: PORT is set by Phalanx to port "http" — remove it from env, or give the port another env: name`,
    `${FILE}:6:33: services[0].ports[0].port: Fixed port 8080 clashes when 2 instances share a node (placement.maxPerNode) — remove port: to let each instance get its own, or set maxPerNode: 1`,
    `${FILE}:10:87: services[0].expose.port: No port named "web" — use one of: http`,
    `${FILE}:10:48: services[0].expose.algorithm: Sticky sessions need algorithm consistent-hash, not p2c — remove algorithm (sticky implies consistent-hash), or remove sticky`,
    `${FILE}:10:97: services[0].expose.tls: TLS is set on an http frontend — use protocol: https, or remove tls`,
    `${FILE}:9:13: services[0].update: A roll-out with maxSurge 0 and maxUnavailable 0 can never replace an instance — set maxSurge or maxUnavailable to at least 1`,
    `${FILE}:7:43: services[0].placement.spreadBy: Spreading by "zone" has no effect: placement.labels pins it to one value — remove spreadBy, or remove that label`,
    `${FILE}:14:15: services[1].replicas: An active-standby service has exactly one active instance, not 2 — remove replicas and set standbys: N for the copies that wait`,
    `${FILE}:16:26: services[1].healthCheck.type: A tcp check needs a port to check, and this service has no ports — add ports: [{ name: http }], or set healthCheck.port`,
    `${FILE}:17:23: services[1].expose.listen: An exposed service needs a port for the balancer to send to — add ports: [{ name: http }] to the service`,
    `${FILE}:15:34: services[1].restart.backoffInitialMs: Initial backoff 5000 ms is longer than the cap 100 ms — make backoffInitialMs at most backoffMaxMs`,
    `${FILE}:20:15: services[2].standbys: standbys applies to mode active-standby only — set mode: active-standby, or remove standbys`,
    `${FILE}:21:14: services[2].standby: standby applies to mode active-standby only — set mode: active-standby, or remove standby`,
    `${FILE}:11:11: services[1].name: Duplicate service name "web" (also services[0]) — give every service its own name`,
    `${FILE}:17:23: services[1].expose.listen: Address 0.0.0.0:8080 is already exposed by service "web" — every node's proxy listens there: pick another port`,
    `${FILE}:6:33: services[0].ports[0].port: Port 8080 is where every node's proxy serves service "web" — use another port, or leave port: out to get a free one`,
  ]);
});

test("several YAML documents, an empty list and broken YAML are refused with their place", () => {
  assert.deepEqual(errorsOf("name: a\nrun: { command: x }\n---\nname: b\nrun: { command: y }\n"), [
    `${FILE}:3:1: A service file holds one YAML document, this one has several — put the services in one document under services: as a list`,
  ]);
  assert.deepEqual(errorsOf("services: []\n"), [`${FILE}:1:11: services: The services list is empty — add entries`]);
  assert.match(errorsOf("name: [\n")[0]!, /^\/srv\/services\.yaml:\d+:\d+: Invalid YAML: /);
});

test("loadServiceFile throws a ConfigError listing each problem; an unreadable file says so", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-services-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "services.yaml");
  await writeFile(file, "services:\n  - { name: w, run: { command: x }, replicas: two }\n");
  await assert.rejects(loadServiceFile(file), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, "config_invalid");
    assert.match(err.message, new RegExp(`${file}:2:47: services\\[0\\]\\.replicas: Expected number, got string`));
    return true;
  });
  await assert.rejects(loadServiceFile(join(dir, "missing.yaml")), (err: unknown) => err instanceof ConfigError && err.code === "config_unreadable");
});

test("active-standby hooks default their timeout to 5 s and, like flapDamping, are refused on an active-active service", () => {
  const s = parseOne("name: db\nrun: { command: /usr/bin/db }\nmode: active-standby\nstandby: cold\nhooks: { promote: { command: /bin/promote }, demote: { command: /bin/demote, args: [now], timeoutMs: 700 } }\nflapDamping: { threshold: 1 }\n");
  assert.deepEqual(s.hooks, { promote: { command: "/bin/promote", args: [], timeoutMs: SERVICE_DEFAULTS.hookTimeoutMs }, demote: { command: "/bin/demote", args: ["now"], timeoutMs: 700 } });
  assert.deepEqual(s.flapDamping, { threshold: 1, windowMs: 600_000, backoffBaseMs: 10_000, backoffMaxMs: 300_000 });
  const errors = errorsOf("name: web\nrun: { command: /usr/bin/web }\nhooks: { promote: { command: /bin/p } }\nflapDamping: { threshold: 1 }\n");
  assert.ok(errors.some((e) => /hooks/.test(e) && /active-standby only/.test(e)), errors.join("\n"));
  assert.ok(errors.some((e) => /flapDamping/.test(e) && /active-standby only/.test(e)), errors.join("\n"));
  assert.ok(errorsOf("name: db\nrun: { command: /x }\nmode: active-standby\nhooks: { promote: { command: '' } }\n").some((e) => /Hook command must not be empty/.test(e)));
});

test("active-standby position: defaults, refused on active-active, a timeout longer than the interval is an error at its field", () => {
  const s = parseOne("name: db\nrun: { command: /usr/bin/db }\nmode: active-standby\nposition: { command: /bin/pos, args: [lsn] }\n");
  assert.deepEqual(s.position, { command: "/bin/pos", args: ["lsn"], timeoutMs: SERVICE_DEFAULTS.positionTimeoutMs, intervalMs: SERVICE_DEFAULTS.positionIntervalMs });
  assert.equal(parseOne("name: db\nrun: { command: /usr/bin/db }\nmode: active-standby\n").position, undefined);
  const aa = errorsOf("name: web\nrun: { command: /usr/bin/web }\nposition: { command: /bin/pos }\n");
  assert.ok(aa.some((e) => /position/.test(e) && /active-standby only/.test(e)), aa.join("\n"));
  const slow = errorsOf("name: db\nrun: { command: /x }\nmode: active-standby\nposition: { command: /bin/pos, timeoutMs: 5000, intervalMs: 1000 }\n");
  assert.ok(slow.some((e) => /position\.timeoutMs/.test(e) && /longer than its interval/.test(e)), slow.join("\n"));
  assert.ok(errorsOf("name: db\nrun: { command: /x }\nmode: active-standby\nposition: { command: '' }\n").some((e) => /Position command must not be empty/.test(e)));
  assert.ok(errorsOf("name: db\nrun: { command: /x }\nmode: active-standby\nposition: { command: /p, every: 3 }\n").length > 0, "unknown fields are refused");
});

test("vip: taken on an active-standby service, refused on an active-active one and when malformed", () => {
  const s = parseOne("name: db\nrun: { command: /usr/bin/db }\nmode: active-standby\nvip: { address: 10.0.0.100/24, interface: eth0 }\n");
  assert.deepEqual(s.vip, { address: "10.0.0.100/24", interface: "eth0" });
  assert.equal(parseOne("name: db\nrun: { command: /usr/bin/db }\nmode: active-standby\n").vip, undefined);
  assert.deepEqual(errorsOf("name: web\nrun: { command: /usr/bin/web }\nvip: { address: 10.0.0.100/24, interface: eth0 }\n"), [
    `${FILE}:3:6: vip: vip applies to mode active-standby only: an active-active service has no single holder for the address — set mode: active-standby, or remove vip`,
  ]);
  assert.ok(errorsOf("name: db\nrun: { command: /x }\nmode: active-standby\nvip: { address: 10.0.0.100, interface: eth0 }\n").some((e) => /vip\.address/.test(e)));
  assert.ok(errorsOf("name: db\nrun: { command: /x }\nmode: active-standby\nvip: { address: 10.0.0.100/24, interface: eth0, extra: 1 }\n").some((e) => /vip/.test(e)));
});
