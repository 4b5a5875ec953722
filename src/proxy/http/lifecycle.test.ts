import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import type { BackendEndpoint, HashOn, PickRequest } from "../types.js";
import { request, startFrontend, startHttpBackend, StaticPool, testSpec, waitFor } from "./testkit.js";

describe("HTTP frontend lifecycle", () => {
  it("closes a keep-alive connection that stays idle past idleMs, and counts connections", async (t) => {
    const be = await startHttpBackend(t, (_req, res) => res.end("hi"));
    const { port, metrics } = await startFrontend(t, { web: new StaticPool("web", [{ port: be.port }]) }, {
      timeouts: { headerMs: 2000, idleMs: 200, connectMs: 1000, responseMs: 5000 },
    });
    const socket = net.connect({ host: "127.0.0.1", port });
    t.after(() => socket.destroy());
    let text = "";
    socket.on("data", (c: Buffer) => {
      text += c.toString();
    });
    const closed = new Promise<number>((r) => socket.on("close", () => r(Date.now())));
    socket.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    await waitFor(() => text.endsWith("hi"), 2000, "response");
    const answeredAt = Date.now();
    const closedAt = await closed;
    assert.ok(closedAt - answeredAt >= 150 && closedAt - answeredAt < 1500, `closed after ${closedAt - answeredAt} ms`);
    await waitFor(() => metrics.closed === 1, 2000, "connection close metric");
    assert.equal(metrics.opened, 1);
  });

  it("update() swaps routes for the next request on an established connection", async (t) => {
    const a = await startHttpBackend(t, (_req, res) => res.end("A"));
    const b = await startHttpBackend(t, (_req, res) => res.end("B"));
    const pools = { a: new StaticPool("a", [{ port: a.port }]), b: new StaticPool("b", [{ port: b.port }]) };
    const { port, frontend } = await startFrontend(t, pools, { routes: [{ pool: "a" }] });
    const socket = net.connect({ host: "127.0.0.1", port });
    t.after(() => socket.destroy());
    let text = "";
    socket.on("data", (c: Buffer) => {
      text += c.toString();
    });
    socket.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    await waitFor(() => text.endsWith("A"), 2000, "first response");
    frontend.update(testSpec({ routes: [{ pool: "b" }] }));
    socket.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    await waitFor(() => text.endsWith("B"), 2000, "second response");
  });

  it("hands the pool the header or cookie value it hashes on", async (t) => {
    const be = await startHttpBackend(t, (_req, res) => res.end("ok"));
    const seen: PickRequest[] = [];
    const endpoint: BackendEndpoint = { id: "one", host: "127.0.0.1", port: be.port, weight: 1 };
    const hashingPool = (name: string, hashOn: HashOn) => ({
      name,
      hashOn,
      pick(req: PickRequest) {
        seen.push({ ...req }); // The request object is reused: valid only during the call.
        return endpoint;
      },
      begin: () => () => {},
      tryAcquireRetry: () => true,
    });
    const { port } = await startFrontend(t, {
      byHeader: hashingPool("byHeader", { kind: "header", name: "X-User" }),
      byCookie: hashingPool("byCookie", { kind: "cookie", name: "sid" }),
    }, { routes: [{ pathPrefix: "/h", pool: "byHeader" }, { pathPrefix: "/c", pool: "byCookie" }] });
    await request(port, { path: "/h", headers: { "x-user": "alice" } });
    await request(port, { path: "/c", headers: { cookie: "a=1; sid=s3cr3t; b=2" } });
    assert.deepEqual(seen, [{ clientIp: "127.0.0.1", hashKey: "alice" }, { clientIp: "127.0.0.1", hashKey: "s3cr3t" }]);
  });
});
