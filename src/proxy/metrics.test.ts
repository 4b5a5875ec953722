// The proxy's metrics: request counts by status class, errors, latency, connections, ejections
// and per-backend state read from pools at scrape time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { register } from "prom-client";
import { seededRandomInt } from "./balance/create.js";
import { PrometheusProxyMetrics } from "./metrics.js";
import { Pool } from "./pool/pool.js";

test("requests, errors, latency, connections and bytes appear in the exposition text", async () => {
  const metrics = new PrometheusProxyMetrics();
  metrics.connectionOpened("web");
  metrics.connectionOpened("web");
  metrics.connectionClosed("web");
  metrics.requestFinished("web", "a", 200, 3);
  metrics.requestFinished("web", "a", 204, 3);
  metrics.requestFinished("web", "a", 502, 40);
  metrics.requestFinished("web", null, 503, 0.1);
  metrics.bytesTransferred("db", "x", 10, 20);
  const text = await metrics.text();
  assert.match(text, /phalanx_proxy_requests_total\{frontend="web",backend="a",class="2xx"\} 2/);
  assert.match(text, /phalanx_proxy_requests_total\{frontend="web",backend="a",class="5xx"\} 1/);
  assert.match(text, /phalanx_proxy_requests_total\{frontend="web",backend="none",class="5xx"\} 1/);
  assert.match(text, /phalanx_proxy_errors_total\{frontend="web",backend="a"\} 1/);
  assert.doesNotMatch(text, /phalanx_proxy_errors_total\{[^}]*\} 2/);
  assert.match(text, /phalanx_proxy_request_duration_seconds_bucket\{le="0.005",frontend="web",backend="a"\} 2/);
  assert.match(text, /phalanx_proxy_request_duration_seconds_count\{frontend="web",backend="a"\} 3/);
  assert.match(text, /phalanx_proxy_frontend_connections\{frontend="web"\} 1/);
  assert.match(text, /phalanx_proxy_bytes_total\{frontend="db",backend="x",direction="downstream"\} 20/);
  // Its own registry: nothing leaks into prom-client's global one.
  assert.doesNotMatch(await register.metrics(), /phalanx_proxy/);
});

test("per-backend active counts, health and ejections come from the pools", async () => {
  const metrics = new PrometheusProxyMetrics();
  let now = 0;
  const pool = new Pool(
    {
      name: "api",
      algorithm: "round-robin",
      hashOn: { kind: "none" },
      backends: [{ id: "a", host: "127.0.0.1", port: 1, weight: 1 }, { id: "b", host: "127.0.0.1", port: 2, weight: 1 }],
      healthCheck: null,
      outlier: { consecutiveFailures: 1, baseEjectionMs: 1000, maxEjectionMs: 1000, maxEjectionPercent: 50 },
      retry: { budgetPercent: 20, minRetriesPerSecond: 1, maxAttempts: 2 },
    },
    { now: () => now, randomInt: seededRandomInt(1), observer: metrics },
  );
  metrics.setPoolSource(() => [pool]);
  const open = pool.begin("b");
  pool.begin("a")("connect_error", 1);
  const text = await metrics.text();
  assert.match(text, /phalanx_proxy_backend_ejections_total\{pool="api",backend="a"\} 1/);
  assert.match(text, /phalanx_proxy_backend_up\{pool="api",backend="a"\} 0/);
  assert.match(text, /phalanx_proxy_backend_up\{pool="api",backend="b"\} 1/);
  assert.match(text, /phalanx_proxy_backend_ejected\{pool="api",backend="a"\} 1/);
  assert.match(text, /phalanx_proxy_backend_ejected\{pool="api",backend="b"\} 0/);
  assert.match(text, /phalanx_proxy_backend_active\{pool="api",backend="b"\} 1/);
  now = 1000;
  pool.pick({ clientIp: "x" });
  open("success", 1);
  const later = await metrics.text();
  assert.match(later, /phalanx_proxy_backend_up\{pool="api",backend="a"\} 1/);
  assert.match(later, /phalanx_proxy_backend_ejected\{pool="api",backend="a"\} 0/);
  assert.match(later, /phalanx_proxy_backend_active\{pool="api",backend="b"\} 0/);
});
