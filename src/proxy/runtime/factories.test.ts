import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import type { FrontendSpec, ProxyMetrics } from "../types.js";
import { BUILTIN_FRONTEND_FACTORIES, factoryFor } from "./factories.js";

const metrics: ProxyMetrics = {
  connectionOpened: () => undefined,
  connectionClosed: () => undefined,
  requestFinished: () => undefined,
  bytesTransferred: () => undefined,
};

function spec(protocol: FrontendSpec["protocol"]): FrontendSpec {
  return {
    name: `fe-${protocol}`,
    listen: { host: "127.0.0.1", port: 0 },
    protocol,
    ...(protocol === "tcp" ? { pool: "p" } : { routes: [{ pool: "p" }] }),
    timeouts: { headerMs: 1000, idleMs: 1000, connectMs: 1000, responseMs: 1000 },
    maxConnections: 10,
    maxHeaderBytes: 8192,
  };
}

test("the built-in factories build and start both an http and a tcp frontend", async (t) => {
  for (const protocol of ["http", "tcp"] as const) {
    const factory = factoryFor(BUILTIN_FRONTEND_FACTORIES, protocol);
    assert.equal(typeof factory, "function", `no ${protocol} factory`);
    const frontend = factory!(spec(protocol), { pools: () => undefined, metrics, logger: pino({ level: "silent" }) });
    t.after(() => frontend.close(0));
    const address = await frontend.listen();
    assert.ok(address.port > 0, `${protocol} frontend did not listen`);
  }
});
