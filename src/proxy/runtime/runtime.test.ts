// The runtime's reconciliation, with recording fake frontends: added frontends start, removed ones
// drain, unchanged addresses are updated in place, pools follow the config and removed backends
// drain. Also the static-file and store config sources.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type { PoolSpec, ProxyConfig } from "../../config/proxy.js";
import { ConfigError } from "../../config/errors.js";
import type { Frontend, FrontendSpec, ListenAddress } from "../types.js";
import type { FrontendFactory } from "./factories.js";
import { FileConfigSource } from "./fileSource.js";
import { ConfigRejectedError, ProxyRuntime } from "./runtime.js";
import { StoreConfigSource, type KvEntry, type KvEvent, type KvWatchClient } from "./storeSource.js";

const silent = pino({ level: "silent" });

interface FakeFrontend extends Frontend {
  readonly log: string[];
}

function fakeFactory(log: string[]): FrontendFactory {
  let nextPort = 40000;
  return (spec: FrontendSpec): FakeFrontend => {
    const port = spec.listen.port === 0 ? nextPort++ : spec.listen.port;
    log.push(`create ${spec.name}`);
    return {
      name: spec.name,
      log,
      listen: async (): Promise<ListenAddress> => {
        log.push(`listen ${spec.name}`);
        return { host: spec.listen.host, port };
      },
      update: (s: FrontendSpec) => log.push(`update ${s.name} ${(s.routes ?? []).map((r) => r.pool).join(",")}`),
      close: async () => {
        log.push(`close ${spec.name}`);
      },
    };
  };
}

const timeouts = { headerMs: 1000, idleMs: 1000, connectMs: 1000, responseMs: 1000 };
function httpFrontend(name: string, pool: string, port = 0): FrontendSpec {
  return { name, listen: { host: "127.0.0.1", port }, protocol: "http", routes: [{ pool }], timeouts, maxConnections: 100, maxHeaderBytes: 16384 };
}
function pool(name: string, ids: string[]): PoolSpec {
  return {
    name,
    algorithm: "round-robin",
    hashOn: { kind: "none" },
    backends: ids.map((id, i) => ({ id, host: "127.0.0.1", port: 9000 + i, weight: 1 })),
    healthCheck: null,
    outlier: null,
    retry: { budgetPercent: 20, minRetriesPerSecond: 3, maxAttempts: 3 },
  };
}

test("apply starts added frontends, updates kept ones in place and drains removed ones", async (t) => {
  const log: string[] = [];
  const runtime = new ProxyRuntime({ logger: silent, factories: { http: fakeFactory(log) } });
  t.after(() => runtime.stop(100));
  await runtime.apply({ admin: null, frontends: [httpFrontend("a", "p", 7001), httpFrontend("b", "p", 7002)], pools: [pool("p", ["x"])] });
  assert.deepEqual(log, ["create a", "listen a", "create b", "listen b"]);
  assert.deepEqual(runtime.frontendAddress("a"), { host: "127.0.0.1", port: 7001 });
  log.length = 0;
  await runtime.apply({ admin: null, frontends: [httpFrontend("a", "q", 7001), httpFrontend("c", "q", 7003)], pools: [pool("q", ["y"])] });
  assert.deepEqual(log, ["close b", "update a q", "create c", "listen c"]);
  assert.equal(runtime.pool("p"), undefined);
  assert.ok(runtime.pool("q"));
  log.length = 0;
  // A frontend that moves to another address is replaced.
  await runtime.apply({ admin: null, frontends: [httpFrontend("a", "q", 7009), httpFrontend("c", "q", 7003)], pools: [pool("q", ["y"])] });
  assert.deepEqual(log, ["update c q", "close a", "create a", "listen a"]);
});

test("a config with a protocol that has no implementation is refused before anything changes", async (t) => {
  const log: string[] = [];
  const runtime = new ProxyRuntime({ logger: silent, factories: { http: fakeFactory(log) } });
  t.after(() => runtime.stop(100));
  const tcp: FrontendSpec = { ...httpFrontend("t", "p"), protocol: "tcp", routes: undefined, pool: "p" } as FrontendSpec;
  await assert.rejects(runtime.apply({ admin: null, frontends: [tcp], pools: [pool("p", ["x"])] }), ConfigRejectedError);
  assert.deepEqual(log, []);
  assert.equal(runtime.config, null);
});

test("a frontend that cannot listen is reported and the rest of the config applies", async (t) => {
  const log: string[] = [];
  const inner = fakeFactory(log);
  const failing: FrontendFactory = (spec, deps) => {
    const f = inner(spec, deps);
    if (spec.name !== "bad") return f;
    return { ...f, listen: () => Promise.reject(new Error("Cannot listen on 127.0.0.1:1: EACCES")) };
  };
  const runtime = new ProxyRuntime({ logger: silent, factories: { http: failing } });
  t.after(() => runtime.stop(100));
  const result = await runtime.apply({ admin: null, frontends: [httpFrontend("bad", "p", 1), httpFrontend("good", "p", 7005)], pools: [pool("p", ["x"])] });
  assert.deepEqual(result.failures.map((f) => f.frontend), ["bad"]);
  assert.ok(runtime.frontendAddress("good"));
});

test("backends removed from the config drain in their pool", async (t) => {
  const runtime = new ProxyRuntime({ logger: silent, factories: { http: fakeFactory([]) } });
  t.after(() => runtime.stop(100));
  await runtime.apply({ admin: null, frontends: [httpFrontend("a", "p")], pools: [pool("p", ["x", "y"])] });
  const p = runtime.pool("p");
  assert.ok(p);
  const finish = p.begin("x");
  await runtime.apply({ admin: null, frontends: [httpFrontend("a", "p")], pools: [pool("p", ["y"])] });
  assert.equal(runtime.pool("p"), p, "the pool object is kept across reloads");
  assert.deepEqual(p.snapshot().map((m) => `${m.id}${m.draining ? " draining" : ""}`), ["x draining", "y"]);
  finish("success", 1);
  await p.drained();
  assert.deepEqual(p.snapshot().map((m) => m.id), ["y"]);
});

test("bursts of configs collapse to the latest", async (t) => {
  const log: string[] = [];
  const runtime = new ProxyRuntime({ logger: silent, factories: { http: fakeFactory(log) } });
  t.after(() => runtime.stop(100));
  const configs: ProxyConfig[] = [1, 2, 3, 4].map((n) => ({ admin: null, frontends: [httpFrontend(`f${n}`, "p")], pools: [pool("p", ["x"])] }));
  await Promise.all(configs.map((c) => runtime.apply(c)));
  assert.deepEqual(log, ["create f4", "listen f4"]);
  assert.equal(runtime.config, configs[3]);
});

test("the admin listener serves /metrics and /healthz", async (t) => {
  const runtime = new ProxyRuntime({ logger: silent, factories: { http: fakeFactory([]) } });
  t.after(() => runtime.stop(100));
  await runtime.apply({ admin: { host: "127.0.0.1", port: 0 }, frontends: [], pools: [pool("p", ["x"])] });
  const admin = runtime.adminAddress();
  assert.ok(admin);
  const metrics = await fetch(`http://127.0.0.1:${admin.port}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(await metrics.text(), /phalanx_proxy_backend_up\{pool="p",backend="x"\} 1/);
  const health = await fetch(`http://127.0.0.1:${admin.port}/healthz`);
  assert.equal(await health.text(), "ok\n");
});

test("the file source reloads a changed file and reports a broken one without delivering it", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-proxy-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "proxy.yaml");
  const yaml = (port: number): string =>
    `frontends:\n  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: web }] }\npools:\n  - { name: web, backends: [{ id: a, address: 127.0.0.1:${port} }] }\n`;
  await writeFile(file, yaml(9001));
  const source = new FileConfigSource(file);
  const configs: ProxyConfig[] = [];
  const errors: Error[] = [];
  const first = await source.start({ onConfig: (c) => configs.push(c), onError: (e) => errors.push(e) });
  assert.equal(first.pools[0]?.backends[0]?.port, 9001);
  await writeFile(file, yaml(9002));
  assert.equal(await source.reload(), true);
  assert.equal(configs[0]?.pools[0]?.backends[0]?.port, 9002);
  await writeFile(file, yaml(9002).replace("listen: 127.0.0.1:0", "listen: nowhere"));
  assert.equal(await source.reload(), false);
  assert.equal(configs.length, 1);
  assert.ok(errors[0] instanceof ConfigError);
  assert.match(errors[0].message, new RegExp(`${file}:2:26: frontends\\[0\\]\\.listen: Expected host:port`));
});

/** An in-memory stand-in for the store client: a revisioned map with prefix watches. */
class FakeKv implements KvWatchClient {
  revision = 0;
  readonly data = new Map<string, KvEntry>();
  private readonly watchers = new Set<{ prefix: string; onEvents: (e: readonly KvEvent[]) => void; onError: (e: Error) => void }>();

  put(key: string, value: unknown): void {
    this.revision += 1;
    const entry = { key, value: typeof value === "string" ? value : JSON.stringify(value), modRevision: this.revision };
    this.data.set(key, entry);
    this.emit([{ type: "put", ...entry }]);
  }

  del(key: string): void {
    this.revision += 1;
    this.data.delete(key);
    this.emit([{ type: "delete", key, modRevision: this.revision }]);
  }

  failWatches(): void {
    for (const w of [...this.watchers]) {
      this.watchers.delete(w);
      w.onError(new Error("Watch compacted"));
    }
  }

  async getPrefix(prefix: string): Promise<{ revision: number; entries: KvEntry[] }> {
    return { revision: this.revision, entries: [...this.data.values()].filter((e) => e.key.startsWith(prefix)) };
  }

  watchPrefix(prefix: string, _from: number, onEvents: (e: readonly KvEvent[]) => void, onError: (e: Error) => void): { cancel(): void } {
    const w = { prefix, onEvents, onError };
    this.watchers.add(w);
    return { cancel: () => this.watchers.delete(w) };
  }

  private emit(events: KvEvent[]): void {
    for (const w of this.watchers) {
      const mine = events.filter((e) => e.key.startsWith(w.prefix));
      if (mine.length > 0) w.onEvents(mine);
    }
  }
}

test("the store source assembles frontends, pools and backends from keys and follows the watch", async (t) => {
  const kv = new FakeKv();
  kv.put("/phalanx/proxy/frontends/web", { name: "web", listen: "127.0.0.1:0", routes: [{ pool: "api" }] });
  kv.put("/phalanx/proxy/pools/api", { name: "api", algorithm: "least-connections" });
  kv.put("/phalanx/proxy/backends/api/i1", { address: "10.0.0.1:8080" });
  kv.put("/phalanx/other/ignored", "x");
  const source = new StoreConfigSource(kv);
  t.after(() => source.stop());
  const configs: ProxyConfig[] = [];
  const errors: string[] = [];
  const first = await source.start({ onConfig: (c) => configs.push(c), onError: (e) => errors.push(e.message) });
  assert.deepEqual(first.frontends.map((f) => f.name), ["web"]);
  assert.equal(first.pools[0]?.algorithm, "least-connections");
  assert.deepEqual(first.pools[0]?.backends, [{ id: "i1", host: "10.0.0.1", port: 8080, weight: 1 }]);

  kv.put("/phalanx/proxy/backends/api/i2", { address: "10.0.0.2:8080", weight: 3 });
  kv.del("/phalanx/proxy/backends/api/i1");
  assert.deepEqual(configs.at(-1)?.pools[0]?.backends.map((b) => `${b.id}:${b.weight}`), ["i2:3"]);

  // A bad value is reported and skipped; the rest still applies.
  kv.put("/phalanx/proxy/backends/api/i3", { address: "nowhere" });
  assert.deepEqual(configs.at(-1)?.pools[0]?.backends.map((b) => b.id), ["i2"]);
  assert.match(errors.at(-1) ?? "", /^Cannot use \/phalanx\/proxy\/backends\/api\/i3: address: Expected host:port, got "nowhere"/);

  // A frontend naming a pool with no keys gets an empty default pool (answers 503 until backends come).
  kv.put("/phalanx/proxy/frontends/db", { name: "db", listen: "127.0.0.1:0", protocol: "tcp", pool: "pg" });
  const last = configs.at(-1);
  assert.deepEqual(last?.pools.map((p) => `${p.name}:${p.backends.length}`), ["api:1", "pg:0"]);
});

test("the store source lists again after its watch fails and catches up", async (t) => {
  const kv = new FakeKv();
  kv.put("/phalanx/proxy/backends/api/i1", { address: "10.0.0.1:8080" });
  const source = new StoreConfigSource(kv);
  t.after(() => source.stop());
  const configs: ProxyConfig[] = [];
  const errors: string[] = [];
  await source.start({ onConfig: (c) => configs.push(c), onError: (e) => errors.push(e.message) });
  kv.failWatches();
  // Written while no watch runs: the re-list must pick it up.
  kv.data.set("/phalanx/proxy/backends/api/i2", { key: "/phalanx/proxy/backends/api/i2", value: '{"address":"10.0.0.2:8080"}', modRevision: 99 });
  const deadline = Date.now() + 5000;
  while (configs.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(configs.at(-1)?.pools[0]?.backends.map((b) => b.id), ["i1", "i2"]);
  assert.match(errors[0] ?? "", /Watch on \/phalanx\/proxy\/ ended, listing again: Watch compacted/);
});

test("the store source drives the runtime: a backend key written later joins the running pool", async (t) => {
  const kv = new FakeKv();
  kv.put("/phalanx/proxy/frontends/web", { name: "web", listen: "127.0.0.1:0", routes: [{ pool: "api" }] });
  const runtime = new ProxyRuntime({ logger: silent, factories: { http: fakeFactory([]) } });
  t.after(() => runtime.stop(100));
  const source = new StoreConfigSource(kv);
  t.after(() => source.stop());
  const applied: Array<Promise<unknown>> = [];
  const first = await source.start({ onConfig: (c) => applied.push(runtime.apply(c)), onError: (e) => assert.fail(e) });
  await runtime.apply(first);
  assert.equal(runtime.pool("api")?.pick({ clientIp: "1.1.1.1" }), null, "no backend yet: the frontend would answer 503");
  kv.put("/phalanx/proxy/backends/api/i1", { address: "10.0.0.1:8080" });
  await Promise.all(applied);
  assert.equal(runtime.pool("api")?.pick({ clientIp: "1.1.1.1" })?.id, "i1");
  kv.del("/phalanx/proxy/backends/api/i1");
  await Promise.all(applied);
  assert.equal(runtime.pool("api")?.pick({ clientIp: "1.1.1.1" }), null);
});
