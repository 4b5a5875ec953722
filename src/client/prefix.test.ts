// A prefix in the SDK means what it means in the store: the range end the client sends is
// kv/keys.ts's prefixEnd, also for prefixes ending in U+FFFF or a surrogate pair, where a naive
// "last code unit + 1" wraps around to a range that holds no key at all.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { prefixEnd } from "../kv/keys.js";
import { PhalanxClient } from "./client.js";

const unb64 = (s: string): string => Buffer.from(s, "base64").toString("utf8");

test("get and delete with a prefix send the store's prefixEnd as range_end", async (t) => {
  const seen: { path: string; body: Record<string, unknown> }[] = [];
  const server = createServer((req, res) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => { text += chunk; });
    req.on("end", () => {
      seen.push({ path: req.url ?? "", body: JSON.parse(text) as Record<string, unknown> });
      res.setHeader("content-type", "application/json");
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const client = new PhalanxClient({ endpoints: [`127.0.0.1:${(server.address() as AddressInfo).port}`], maxAttempts: 1 });
  t.after(() => client.close());

  for (const prefix of ["a/", "a\uffff", "x\ud83d\udfff", "\uffff", ""]) {
    seen.length = 0;
    await client.get(prefix, { prefix: true });
    await client.delete(prefix, { prefix: true });
    assert.equal(seen.length, 2, JSON.stringify(prefix));
    for (const { path, body } of seen) {
      assert.equal(unb64(body.key as string), prefix, path);
      assert.equal(unb64(body.range_end as string), prefixEnd(prefix), `${path} ${JSON.stringify(prefix)}`);
    }
  }
  // The cases where the naive rule went wrong, spelled out.
  assert.equal(prefixEnd("a\uffff"), "b");
  assert.equal(prefixEnd("x\ud83d\udfff"), "x\ud83e\udc00");
});
