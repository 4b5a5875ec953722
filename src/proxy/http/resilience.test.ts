import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { describe, it } from "node:test";
import type { TestCleanup } from "./testkit.js";
import { closedPort, rawExchange, request, startFrontend, startHttpBackend, startRawBackend, StaticPool } from "./testkit.js";

/** A backend that resets every connection as soon as a request head arrives. */
async function resettingBackend(t: TestCleanup): Promise<{ port: number; requests: () => number }> {
  let requests = 0;
  const { port } = await startRawBackend(t, (s) => {
    requests++;
    s.resetAndDestroy();
  });
  return { port, requests: () => requests };
}

describe("HTTP frontend failure handling", () => {
  it("answers 503 at once, naming the frontend and pool, when no backend is healthy", async (t) => {
    const empty = new StaticPool("web", []);
    const { port, metrics } = await startFrontend(t, { web: empty });
    const start = Date.now();
    const res = await request(port, { path: "/" });
    assert.equal(res.status, 503);
    assert.match(res.body, /fe/);
    assert.match(res.body, /pool web/);
    assert.ok(Date.now() - start < 500);
    assert.deepEqual(metrics.requests, [{ backendId: null, status: 503 }]);
  });

  it("retries a refused connect on another backend", async (t) => {
    const dead = await closedPort();
    const be = await startHttpBackend(t, (_req, res) => res.end("alive"));
    const pool = new StaticPool("web", [{ port: dead, id: "dead" }, { port: be.port, id: "alive" }]);
    pool.retryTokens = 0; // Connect retries do not need the budget: no request reached a backend.
    const { port } = await startFrontend(t, { web: pool });
    const res = await request(port, { path: "/", method: "POST", body: "data" });
    assert.equal(res.body, "alive");
    assert.deepEqual(pool.outcomes, [{ backendId: "dead", outcome: "connect_error" }, { backendId: "alive", outcome: "success" }]);
  });

  it("retries an idempotent request on another backend after a reset", async (t) => {
    const bad = await resettingBackend(t);
    const be = await startHttpBackend(t, (_req, res) => res.end("second"));
    const pool = new StaticPool("web", [{ port: bad.port, id: "bad" }, { port: be.port, id: "good" }]);
    const { port } = await startFrontend(t, { web: pool });
    const res = await request(port, { path: "/", method: "PUT", body: "idempotent body" });
    assert.equal(res.body, "second");
    assert.equal(bad.requests(), 1);
    assert.deepEqual(pool.outcomes.map((o) => o.outcome), ["reset", "success"]);
    assert.equal(pool.retryTokens, 999);
  });

  it("does not retry a POST after a reset", async (t) => {
    const bad = await resettingBackend(t);
    let goodRequests = 0;
    const be = await startHttpBackend(t, (_req, res) => {
      goodRequests++;
      res.end("second");
    });
    const pool = new StaticPool("web", [{ port: bad.port, id: "bad" }, { port: be.port, id: "good" }]);
    const { port } = await startFrontend(t, { web: pool });
    const res = await request(port, { path: "/", method: "POST", body: "not idempotent" });
    assert.equal(res.status, 502);
    assert.equal(goodRequests, 0);
    assert.deepEqual(pool.outcomes, [{ backendId: "bad", outcome: "reset" }]);
  });

  it("honours the pool's maxAttempts: 5 attempts get past four resetting backends", async (t) => {
    const bad = await Promise.all([1, 2, 3, 4].map(() => resettingBackend(t)));
    const be = await startHttpBackend(t, (_req, res) => res.end("fifth"));
    const pool = new StaticPool("web", [...bad.map((b, i) => ({ port: b.port, id: `bad${i}` })), { port: be.port, id: "good" }]);
    pool.maxAttempts = 5;
    const { port } = await startFrontend(t, { web: pool });
    const res = await request(port, { path: "/" });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.body, "fifth");
    assert.deepEqual(pool.outcomes.map((o) => o.outcome), ["reset", "reset", "reset", "reset", "success"]);
  });

  it("honours the pool's maxAttempts: 5 attempts get past four refused connects", async (t) => {
    const dead = await Promise.all([1, 2, 3, 4].map(() => closedPort()));
    const be = await startHttpBackend(t, (_req, res) => res.end("fifth"));
    const pool = new StaticPool("web", [...dead.map((p, i) => ({ port: p, id: `dead${i}` })), { port: be.port, id: "good" }]);
    pool.maxAttempts = 5;
    const { port } = await startFrontend(t, { web: pool });
    const res = await request(port, { path: "/", method: "POST", body: "x" });
    assert.equal(res.body, "fifth");
    assert.deepEqual(pool.outcomes.map((o) => o.outcome), ["connect_error", "connect_error", "connect_error", "connect_error", "success"]);
  });

  it("with maxAttempts 1 retries nothing, neither a reset nor a refused connect", async (t) => {
    const bad = await resettingBackend(t);
    const dead = await closedPort();
    let goodRequests = 0;
    const be = await startHttpBackend(t, (_req, res) => {
      goodRequests++;
      res.end("second");
    });
    const pool = new StaticPool("web", [{ port: bad.port, id: "bad" }, { port: be.port, id: "good" }]);
    pool.maxAttempts = 1;
    const { port } = await startFrontend(t, { web: pool });
    const reset = await request(port, { path: "/" });
    assert.equal(reset.status, 502);
    const refusing = new StaticPool("web", [{ port: dead, id: "dead" }, { port: be.port, id: "good" }]);
    refusing.maxAttempts = 1;
    const second = await startFrontend(t, { web: refusing });
    const refused = await request(second.port, { path: "/" });
    assert.equal(refused.status, 502);
    assert.match(refused.body, /after 1 attempts/);
    assert.equal(goodRequests, 0);
    assert.deepEqual(pool.outcomes, [{ backendId: "bad", outcome: "reset" }]);
    assert.deepEqual(refusing.outcomes, [{ backendId: "dead", outcome: "connect_error" }]);
  });

  it("retries a GET after a 503 from a backend, and reports the 5xx outcome", async (t) => {
    const busy = await startHttpBackend(t, (_req, res) => {
      res.statusCode = 503;
      res.end("busy");
    });
    const be = await startHttpBackend(t, (_req, res) => res.end("fine"));
    const pool = new StaticPool("web", [{ port: busy.port, id: "busy" }, { port: be.port, id: "fine" }]);
    const { port } = await startFrontend(t, { web: pool });
    const res = await request(port, { path: "/" });
    assert.equal(res.body, "fine");
    assert.deepEqual(pool.outcomes.map((o) => o.outcome), ["http_5xx", "success"]);
  });

  it("passes a 503 through when the retry budget is empty", async (t) => {
    const busy = await startHttpBackend(t, (_req, res) => {
      res.statusCode = 503;
      res.end("busy");
    });
    const be = await startHttpBackend(t, (_req, res) => res.end("fine"));
    const pool = new StaticPool("web", [{ port: busy.port, id: "busy" }, { port: be.port, id: "fine" }]);
    pool.retryTokens = 0;
    const { port } = await startFrontend(t, { web: pool });
    const res = await request(port, { path: "/" });
    assert.equal(res.status, 503);
    assert.equal(res.body, "busy");
  });

  it("answers 504 when the backend does not answer in time", async (t) => {
    const be = await startHttpBackend(t, () => {
      // Never answers.
    });
    const pool = new StaticPool("web", [{ port: be.port }]);
    const { port } = await startFrontend(t, { web: pool }, {
      timeouts: { headerMs: 2000, idleMs: 5000, connectMs: 1000, responseMs: 200 },
    });
    const start = Date.now();
    const res = await request(port, { path: "/" });
    assert.equal(res.status, 504);
    assert.ok(Date.now() - start < 1500);
    assert.deepEqual(pool.outcomes.map((o) => o.outcome), ["timeout"]);
  });

  it("drains under load: every accepted request completes, idle connections close, new ones are refused", async (t) => {
    const be = await startHttpBackend(t, (req, res) => {
      setTimeout(() => res.end(`ok ${req.url}`), 5 + Math.floor(Number(req.url?.slice(1) ?? 0) % 20));
    });
    const { port, frontend } = await startFrontend(t, { web: new StaticPool("web", [{ port: be.port }]) });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    t.after(() => agent.destroy());
    let stop = false;
    let draining = false;
    let completed = 0;
    const failures: string[] = [];
    let n = 0;
    const loop = async (): Promise<void> => {
      while (!stop) {
        const i = n++;
        const outcome = await new Promise<{ status: number; body: string; close: boolean } | { error: string; reused: boolean }>((resolve) => {
          const req = http.get({ host: "127.0.0.1", port, path: `/${i}`, agent }, (res) => {
            let body = "";
            res.on("data", (c: Buffer) => {
              body += c.toString();
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body, close: res.headers.connection === "close" }));
          });
          req.on("error", (err) => resolve({ error: err.message, reused: req.reusedSocket }));
        });
        if ("error" in outcome) {
          // A new connection refused or reset once the listener is closed was never accepted; a
          // request on a kept-alive connection that fails is a real failure.
          if (outcome.reused || !draining) failures.push(`${i}: ${outcome.error} reused=${outcome.reused}`);
          return;
        }
        if (outcome.status !== 200 || outcome.body !== `ok /${i}`) failures.push(`${i}: ${outcome.status} ${outcome.body}`);
        else completed++;
        if (outcome.close) return; // The proxy is draining: this client is done.
      }
    };
    const loops = Array.from({ length: 16 }, () => loop());
    // An idle keep-alive connection that must be closed at once by the drain.
    const idle = net.connect({ host: "127.0.0.1", port });
    const idleClosed = new Promise<void>((r) => idle.on("close", () => r()));
    idle.on("error", () => {});
    while (completed < 200) await new Promise((r) => setTimeout(r, 5));
    draining = true;
    const closing = frontend.close(5000);
    await idleClosed;
    await closing;
    stop = true;
    await Promise.all(loops);
    assert.deepEqual(failures, []);
    assert.ok(completed >= 200);
    const after = await rawExchange(port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 500).catch(() => ({ text: "", closed: true }));
    assert.equal(after.text, "");
  });
});
