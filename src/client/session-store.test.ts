// The SDK's express-session store on a real node: a login, a page view that reads the session, a
// logout, and a session that expires — and the session is stored in the RESP front's format.
import { strict as assert } from "node:assert";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import session from "express-session";
import { decodeEntry, frontPrefix, storeKeyOf } from "../fronts/codec/store-format.js";
import { startApiNode } from "../testing/api-testing.js";
import { PhalanxClient } from "./client.js";
import { phalanxSessionStore } from "./session-store.js";

type Req = IncomingMessage & { session?: { user?: string; views?: number; cookie: { maxAge: number | null }; destroy(done: (err?: unknown) => void): void } };

describe("phalanxSessionStore with express-session", () => {
  it("logs in, reads the session on the next page, logs out, and lets a session expire", async () => {
    const api = await startApiNode();
    const client = new PhalanxClient({ endpoints: [api.node.clientAddress], token: api.clientToken });
    const clock = { offsetMs: 0 };
    let server: Server | null = null;
    try {
      const Store = phalanxSessionStore(session);
      const middleware = session({ secret: "s", store: new Store({ client, nowMs: () => Date.now() + clock.offsetMs }), resave: false, saveUninitialized: false, cookie: { maxAge: 3_600_000 } });
      server = createServer((req: Req, res: ServerResponse) => {
        middleware(req, res, () => {
          const s = req.session!;
          if (req.url?.startsWith("/login")) {
            s.user = "alice";
            if (req.url.includes("short")) s.cookie.maxAge = 2000;
            return res.end("in");
          }
          if (req.url === "/logout") return s.destroy(() => res.end("bye"));
          if (s.user === undefined) return res.end("anonymous");
          s.views = (s.views ?? 0) + 1;
          res.end(`${s.user} ${s.views}`);
        });
      });
      await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const call = async (path: string, cookie?: string) => {
        const r = await fetch(`${base}${path}`, { method: "POST", headers: cookie ? { cookie } : {} });
        return { text: await r.text(), cookie: r.headers.get("set-cookie")?.split(";")[0] ?? cookie };
      };
      const login = await call("/login");
      assert.equal((await call("/page", login.cookie)).text, "alice 1");
      assert.equal((await call("/page", login.cookie)).text, "alice 2");
      // Stored as the RESP front stores `sess:<sid>`, with the cookie's expiry in the header.
      const sid = decodeURIComponent(login.cookie!.split("=")[1]!).slice(2).split(".")[0]!;
      const kv = api.node.replica.kv.range({ key: storeKeyOf(frontPrefix("redis", 0), new TextEncoder().encode(`sess:${sid}`)) });
      assert.ok(kv.ok && kv.kvs.length === 1, "the session is in database 0 under sess:<sid>");
      const entry = decodeEntry(kv.kvs[0]!.value);
      assert.ok(entry !== null && entry.expireAtMs > Date.now() + 3_500_000);
      assert.equal((await call("/logout", login.cookie)).text, "bye");
      assert.equal((await call("/page", login.cookie)).text, "anonymous");
      const short = await call("/login-short");
      assert.equal((await call("/page", short.cookie)).text, "alice 1");
      clock.offsetMs += 3000;
      assert.equal((await call("/page", short.cookie)).text, "anonymous");
    } finally {
      server?.close();
      await client.close();
      await api.close();
    }
  });
});
