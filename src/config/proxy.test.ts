// Proxy config loading: the documented format parses with defaults, and every mistake is reported
// with file:line:col, the field path, what is wrong and what to do.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, formatIssue } from "./errors.js";
import { loadProxyConfig, parseProxyConfig } from "./loadProxy.js";

const FULL = `admin: { listen: 127.0.0.1:9901 }
frontends:
  - name: web
    listen: 127.0.0.1:8080
    protocol: https
    tls: { certFile: ./cert.pem, keyFile: /etc/key.pem }
    routes:
      - { host: example.com, pathPrefix: /api, pool: api }
      - { pool: web }
    timeouts: { headerMs: 5000 }
  - name: db
    listen: "[::1]:5432"
    protocol: tcp
    pool: web
pools:
  - name: web
    algorithm: consistent-hash
    hashOn: { kind: cookie, name: sid }
    backends:
      - { id: a, address: 127.0.0.1:9001, weight: 2 }
      - { id: b, address: localhost:9002 }
    healthCheck: { type: http, path: /healthz, intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3 }
  - name: api
    outlier: { consecutiveFailures: 0 }
    retry: { budgetPercent: 10 }
    backends: []
`;

function errorsOf(text: string): string[] {
  const r = parseProxyConfig(text, "/etc/phalanx/proxy.yaml");
  assert.equal(r.ok, false, "the config should have been refused");
  return r.ok ? [] : r.issues.map(formatIssue);
}

test("the documented format parses, with defaults filled in and paths resolved", () => {
  const r = parseProxyConfig(FULL, "/etc/phalanx/proxy.yaml");
  assert.ok(r.ok, r.ok ? "" : r.issues.map(formatIssue).join("\n"));
  const cfg = r.value;
  assert.deepEqual(cfg.admin, { host: "127.0.0.1", port: 9901 });
  const web = cfg.frontends[0]!;
  assert.deepEqual(web.tls, { certFile: "/etc/phalanx/cert.pem", keyFile: "/etc/key.pem" });
  assert.deepEqual(web.timeouts, { headerMs: 5000, idleMs: 60000, connectMs: 3000, responseMs: 30000 });
  assert.equal(web.maxConnections, 10000);
  assert.deepEqual(cfg.frontends[1]!.listen, { host: "::1", port: 5432 });
  const pool = cfg.pools[0]!;
  assert.deepEqual(pool.hashOn, { kind: "cookie", name: "sid" });
  assert.deepEqual(pool.backends, [
    { id: "a", host: "127.0.0.1", port: 9001, weight: 2 },
    { id: "b", host: "localhost", port: 9002, weight: 1 },
  ]);
  assert.equal(pool.healthCheck?.type, "http");
  assert.deepEqual(pool.outlier, { consecutiveFailures: 5, baseEjectionMs: 30000, maxEjectionMs: 300000, maxEjectionPercent: 50 });
  assert.equal(cfg.pools[1]!.outlier, null);
  assert.deepEqual(cfg.pools[1]!.retry, { budgetPercent: 10, minRetriesPerSecond: 3, maxAttempts: 3 });
  assert.equal(cfg.pools[1]!.algorithm, "round-robin");
});

test("a bad address is reported at its line and column with the field and the fix", () => {
  const errors = errorsOf(FULL.replace("listen: 127.0.0.1:8080", "listen: 8080"));
  assert.deepEqual(errors, [
    '/etc/phalanx/proxy.yaml:4:13: frontends[0].listen: Expected host:port, got "8080" — write it as 127.0.0.1:8080 or [::1]:8080',
  ]);
});

test("a route to an unknown pool names the pool and the known ones", () => {
  const errors = errorsOf(FULL.replace("pool: api }", "pool: apii }"));
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /^\/etc\/phalanx\/proxy\.yaml:8:54: frontends\[0\]\.routes\[0\]\.pool: No pool named "apii" — define it under pools \(known: web, api\)$/);
});

test("an unknown field points at the key itself", () => {
  const errors = errorsOf(FULL.replace("    algorithm: consistent-hash", "    algorithim: consistent-hash"));
  assert.ok(errors.includes('/etc/phalanx/proxy.yaml:17:5: pools[0].algorithim: Unknown field "algorithim" — remove it or check its spelling'), errors.join("\n"));
});

test("a missing required field points at the object that lacks it", () => {
  const errors = errorsOf(FULL.replace("      - { id: b, address: localhost:9002 }", "      - { id: b }"));
  assert.deepEqual(errors, ['/etc/phalanx/proxy.yaml:21:9: pools[0].backends[1].address: Missing required field "address" — add "address" (string)']);
});

test("wrong enum values and types say what is allowed", () => {
  const errors = errorsOf(FULL.replace("algorithm: consistent-hash", "algorithm: random").replace("weight: 2", "weight: two"));
  assert.ok(errors.some((e) => e.startsWith("/etc/phalanx/proxy.yaml:17:16: pools[0].algorithm: Invalid value \"random\" — use one of: round-robin, weighted-round-robin")), errors.join("\n"));
  assert.ok(errors.some((e) => e.startsWith("/etc/phalanx/proxy.yaml:20:51: pools[0].backends[0].weight: Expected number, got string")), errors.join("\n"));
});

test("cross-checks: duplicates, tcp without pool, https without tls, hashOn without consistent hashing", () => {
  const text = `frontends:
  - { name: a, listen: 127.0.0.1:1, protocol: tcp }
  - { name: a, listen: 127.0.0.1:1, protocol: https, routes: [{ pool: p }] }
pools:
  - { name: p, hashOn: { kind: clientIp }, backends: [{ id: x, address: 127.0.0.1:2 }, { id: x, address: 127.0.0.1:3 }] }
`;
  const errors = errorsOf(text);
  const expect = [
    '/etc/phalanx/proxy.yaml:5:24: pools[0].hashOn: hashOn has no effect with algorithm round-robin — use algorithm: consistent-hash, or remove hashOn',
    '/etc/phalanx/proxy.yaml:5:94: pools[0].backends[1].id: Duplicate backend id "x" in pool "p" — give every backend of a pool its own id',
    "/etc/phalanx/proxy.yaml:2:47: frontends[0].protocol: A tcp frontend needs a pool — add \"pool: <name>\" to this frontend",
    '/etc/phalanx/proxy.yaml:3:13: frontends[1].name: Duplicate frontend name "a" — give every frontend its own name',
    '/etc/phalanx/proxy.yaml:3:24: frontends[1].listen: Address 127.0.0.1:1 is already used by frontend "a" — listen on another port',
    "/etc/phalanx/proxy.yaml:3:47: frontends[1].protocol: An https frontend needs tls — add tls: { certFile: ..., keyFile: ... }",
  ];
  assert.deepEqual(errors, expect);
});

test("YAML syntax errors carry their position", () => {
  const errors = errorsOf("frontends: [\npools: 1\n");
  assert.equal(errors.length > 0, true);
  assert.match(errors[0]!, /^\/etc\/phalanx\/proxy\.yaml:\d+:\d+: Invalid YAML: /);
});

test("loadProxyConfig throws a ConfigError whose message lists each problem; an unreadable file says so", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-config-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "proxy.yaml");
  await writeFile(file, "frontends:\n  - { name: w, listen: 127.0.0.1:0, routes: [{ pool: nope }] }\n");
  await assert.rejects(loadProxyConfig(file), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, "config_invalid");
    assert.match(err.message, new RegExp(`${file}:2:54: frontends\\[0\\]\\.routes\\[0\\]\\.pool: No pool named "nope"`));
    return true;
  });
  await assert.rejects(loadProxyConfig(join(dir, "missing.yaml")), (err: unknown) => err instanceof ConfigError && err.code === "config_unreadable");
});
