// The session flow with the real libraries: express-session 1 storing sessions through
// connect-redis 9 and node-redis 5 into the RESP front of a follower: a login, a page view that
// reads the session, a logout, and a session that expires.
import { strict as assert } from "node:assert";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { RedisStore } from "connect-redis";
import session from "express-session";
import { createClient } from "redis";
import { CLIENT_TOKEN, RespTestClient, show, startFrontCluster } from "./testdata/harness.js";

type Req = IncomingMessage & { session?: { user?: string; views?: number; cookie: { maxAge: number | null }; destroy(done: (err?: unknown) => void): void } };

/** A tiny app: POST /login?ttl=ms, GET /page, POST /logout. */
function app(store: RedisStore): Server {
  const middleware = session({ secret: "test-secret", store, resave: false, saveUninitialized: false, cookie: { maxAge: 3_600_000 } });
  return createServer((req: Req, res: ServerResponse) => {
    middleware(req, res, (err) => {
      if (err !== undefined) {
        res.statusCode = 500;
        return res.end(String(err));
      }
      const s = req.session!;
      const url = new URL(req.url ?? "/", "http://x");
      if (url.pathname === "/login") {
        s.user = "alice";
        s.views = 0;
        const ttl = url.searchParams.get("ttl");
        if (ttl !== null) s.cookie.maxAge = Number(ttl);
        return res.end("logged in");
      }
      if (url.pathname === "/page") {
        if (s.user === undefined) return res.end("anonymous");
        s.views = (s.views ?? 0) + 1;
        return res.end(`${s.user} ${s.views}`);
      }
      if (url.pathname === "/logout") return s.destroy(() => res.end("bye"));
      res.statusCode = 404;
      res.end();
    });
  });
}

describe("express-session with connect-redis and node-redis on the RESP front", () => {
  it("logs in, reads the session on the next page, logs out, and lets a session expire", async () => {
    const fc = await startFrontCluster(3);
    const redis = createClient({ socket: { host: "127.0.0.1", port: fc.respPort(fc.followerIds()[0]!), reconnectStrategy: false }, password: CLIENT_TOKEN });
    redis.on("error", () => undefined); // reported through the calls that fail
    let server: Server | null = null;
    try {
      await redis.connect();
      server = app(new RedisStore({ client: redis, prefix: "sess:" }));
      await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const call = async (method: string, path: string, cookie?: string) => {
        const r = await fetch(`${base}${path}`, { method, headers: cookie ? { cookie } : {} });
        return { text: await r.text(), cookie: r.headers.get("set-cookie")?.split(";")[0] ?? cookie };
      };

      const login = await call("POST", "/login");
      assert.equal(login.text, "logged in");
      assert.ok(login.cookie?.startsWith("connect.sid="));
      assert.equal((await call("GET", "/page", login.cookie)).text, "alice 1");
      assert.equal((await call("GET", "/page", login.cookie)).text, "alice 2");
      // The session is in the replicated store: another node answers it.
      const other = await RespTestClient.authed(fc.respPort(fc.leaderId()));
      try {
        const keys = show(await other.call("KEYS", "sess:*"));
        assert.match(keys, /^\[sess:[^,]+\]$/);
        const ttl = Number(show(await other.call("TTL", keys.slice(1, -1))));
        assert.ok(ttl > 3500 && ttl <= 3600, `TTL ${ttl}`);
      } finally {
        other.close();
      }
      assert.equal((await call("POST", "/logout", login.cookie)).text, "bye");
      assert.equal((await call("GET", "/page", login.cookie)).text, "anonymous");

      // A session of 2 s: alive now, gone once the fronts' clock passes its deadline.
      const short = await call("POST", "/login?ttl=2000");
      assert.equal((await call("GET", "/page", short.cookie)).text, "alice 1");
      fc.clock.offsetMs += 3000;
      assert.equal((await call("GET", "/page", short.cookie)).text, "anonymous");
    } finally {
      server?.close();
      await redis.close().catch(() => undefined);
      await fc.close();
    }
  });
});
