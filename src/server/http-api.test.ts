// The client API against a real one-node cluster: every path that could reach the cluster's
// internal keys (the CA private key lives under /phalanx/cluster/) refuses or filters them, the two
// tokens grant what their routes say, and the gateway's own error answers are precise.
import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { decodeSnapshot } from "../kv/snapshot.js";
import { b64, call, startApiNode } from "../testing/api-testing.js";
import type { Answer, ApiNode } from "../testing/api-testing.js";
import { CA_KEY } from "./housekeeper.js";
import { MAX_REQUEST_BODY_BYTES } from "./http-api.js";
import { INTERNAL_PREFIX, MEMBER_PREFIX, memberKey } from "./members.js";
import { nodeId } from "../raft/raft.js";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** What a leak of the CA entry would look like in an answer: its key, its value, the PEM inside. */
function leakMarkers(api: ApiNode): string[] {
  const ca = api.node.replica.kv.get(CA_KEY);
  assert.ok(ca, "the CA is in the store");
  const valueB64 = Buffer.from(ca.value).toString("base64");
  // Refusals may name the prefix (it is documented); they must not carry the entry itself.
  return [b64(CA_KEY), valueB64.slice(0, 40), "PRIVATE KEY"];
}

function assertNoLeak(api: ApiNode, answer: Answer, what: string): void {
  for (const marker of leakMarkers(api)) assert.ok(!answer.text.includes(marker), `${what} leaked ${marker}: ${answer.text.slice(0, 300)}`);
}

function assertRefused(api: ApiNode, answer: Answer, what: string): void {
  assert.equal(answer.status, 403, `${what}: expected 403, got ${answer.status} ${answer.text.slice(0, 300)}`);
  assert.equal(answer.json?.phalanx_code, "permission_denied", what);
  assert.equal(answer.json?.code, 7, `${what}: gRPC PermissionDenied`);
  assertNoLeak(api, answer, what);
}

/** Every KV request that touches the internal keys, with a name for the failure message. */
function internalKeyRequests(): { what: string; path: string; body: unknown }[] {
  const ca = b64(CA_KEY);
  const everything = { key: b64(""), range_end: b64("\0") };
  return [
    { what: "range of the CA key", path: "/v3/kv/range", body: { key: ca } },
    { what: "serializable range of the CA key", path: "/v3/kv/range", body: { key: ca, serializable: true } },
    { what: "range over everything", path: "/v3/kv/range", body: everything },
    { what: "count-only range over everything", path: "/v3/kv/range", body: { ...everything, count_only: true } },
    { what: "keys-only range of prefix /", path: "/v3/kv/range", body: { key: b64("/"), range_end: b64("0"), keys_only: true } },
    { what: "range of prefix /phalanx/", path: "/v3/kv/range", body: { key: b64("/phalanx/"), range_end: b64("/phalanx0") } },
    { what: "range starting inside the prefix", path: "/v3/kv/range", body: { key: b64(`${INTERNAL_PREFIX}a`), range_end: b64("/z") } },
    { what: "range from the key to the end", path: "/v3/kv/range", body: { key: ca, range_end: b64("\0") } },
    { what: "put of the CA key", path: "/v3/kv/put", body: { key: ca, value: b64("forged") } },
    { what: "delete of the CA key", path: "/v3/kv/deleterange", body: { key: ca } },
    { what: "delete of everything", path: "/v3/kv/deleterange", body: everything },
    { what: "delete of prefix /phalanx/", path: "/v3/kv/deleterange", body: { key: b64("/phalanx/"), range_end: b64("/phalanx0"), prev_kv: true } },
    { what: "txn comparing the CA key's value", path: "/v3/kv/txn", body: { compare: [{ key: ca, target: "VALUE", result: "EQUAL", value: b64("x") }] } },
    { what: "txn reading the CA key on success", path: "/v3/kv/txn", body: { success: [{ request_range: { key: ca } }] } },
    { what: "txn reading everything on failure", path: "/v3/kv/txn", body: { compare: [{ key: b64("absent"), target: "VERSION", result: "GREATER", version: 0 }], failure: [{ request_range: everything }] } },
    { what: "txn writing the CA key", path: "/v3/kv/txn", body: { success: [{ request_put: { key: ca, value: b64("forged") } }] } },
    { what: "txn deleting everything", path: "/v3/kv/txn", body: { success: [{ request_put: { key: b64("ok"), value: b64("1") } }, { request_delete_range: { ...everything, prev_kv: true } }] } },
    { what: "watch of the CA key", path: "/v3/watch", body: { create_request: { key: ca, start_revision: 1 } } },
    { what: "watch of the internal prefix", path: "/v3/watch", body: { create_request: { key: b64(INTERNAL_PREFIX), range_end: b64("/phalanx/cluster0"), start_revision: 1 } } },
  ];
}

test("with the client token or the admin token, every KV path to the internal keys is refused with 403 and no byte of them", async (t) => {
  const api = await startApiNode();
  t.after(() => api.close());
  const before = api.node.replica.kv.get(CA_KEY);
  for (const token of [api.clientToken, api.adminToken]) {
    for (const r of internalKeyRequests()) {
      assertRefused(api, await call(api.baseUrl, "POST", r.path, { token, body: r.body }), `${r.what} (${token === api.adminToken ? "admin" : "client"} token)`);
    }
  }
  // Nothing was written: the CA entry is the one the node stored, and the txn's harmless put did not run.
  assert.deepEqual(api.node.replica.kv.get(CA_KEY), before);
  assert.equal(api.node.replica.kv.get("ok"), undefined);
});

test("a nested txn is not accepted in any shape (so it cannot carry an unchecked op)", async (t) => {
  const api = await startApiNode();
  t.after(() => api.close());
  const nested = { success: [{ request_txn: { success: [{ request_range: { key: b64(CA_KEY) } }] } }] };
  const r = await call(api.baseUrl, "POST", "/v3/kv/txn", { token: api.clientToken, body: nested });
  assert.equal(r.status, 400);
  assert.match(String(r.json?.message), /Invalid request: success\.0/);
  assertNoLeak(api, r, "nested txn");
});

test("ranges next to the internal prefix, and the member records, stay readable; member records are not writable", async (t) => {
  const api = await startApiNode();
  t.after(() => api.close());
  const token = api.clientToken;
  await call(api.baseUrl, "POST", "/v3/kv/put", { token, body: { key: b64("/app/a"), value: b64("1") } });
  await call(api.baseUrl, "POST", "/v3/kv/put", { token, body: { key: b64("/phalanx/proxy/x"), value: b64("2") } });
  const below = await call(api.baseUrl, "POST", "/v3/kv/range", { token, body: { key: b64(""), range_end: b64(INTERNAL_PREFIX) } });
  assert.equal(below.status, 200, below.text);
  assert.equal(below.json?.count, "1", "only /app/a sorts below the internal prefix");
  const above = await call(api.baseUrl, "POST", "/v3/kv/range", { token, body: { key: b64("/phalanx/cluster0"), range_end: b64("\0") } });
  assert.equal(above.status, 200, above.text);
  assert.equal(above.json?.count, "2", "the member record and /phalanx/proxy/x sort above it");
  const members = await call(api.baseUrl, "POST", "/v3/kv/range", { token, body: { key: b64(MEMBER_PREFIX), range_end: b64("/phalanx/members0") } });
  assert.equal(members.status, 200, members.text);
  assert.equal(members.json?.count, "1");
  assertRefused(api, await call(api.baseUrl, "POST", "/v3/kv/put", { token, body: { key: b64(memberKey(nodeId(1))), value: b64("{}") } }), "put of a member record");
  assertRefused(api, await call(api.baseUrl, "POST", "/v3/kv/deleterange", { token, body: { key: b64(MEMBER_PREFIX), range_end: b64("/phalanx/members0") } }), "delete of the member records");
});

test("lease key listing leaves out internal keys, and a lease holding them cannot be revoked through the API", async (t) => {
  const api = await startApiNode();
  t.after(() => api.close());
  const replica = api.node.replica;
  const g = await replica.propose({ type: "leaseGrant", id: 0, ttlMs: 60_000 });
  assert.ok(g.ok && g.type === "leaseGrant");
  // Only the node itself can attach an internal key to a lease; it does so here through the replica.
  await replica.propose({ type: "put", key: `${INTERNAL_PREFIX}leased`, value: text("secret"), lease: g.id });
  await replica.propose({ type: "put", key: "/app/leased", value: text("v"), lease: g.id });
  const ttl = await call(api.baseUrl, "POST", "/v3/lease/timetolive", { token: api.clientToken, body: { ID: g.id, keys: true } });
  assert.equal(ttl.status, 200, ttl.text);
  assert.deepEqual(ttl.json?.keys, [b64("/app/leased")]);
  assert.ok(!ttl.text.includes(b64(`${INTERNAL_PREFIX}leased`)));
  const leases = await call(api.baseUrl, "POST", "/v3/lease/leases", { token: api.clientToken, body: {} });
  assert.equal(leases.status, 200);
  assert.deepEqual(leases.json?.leases, [{ ID: String(g.id) }], "the lease listing carries ids only");
  const revoke = await call(api.baseUrl, "POST", "/v3/lease/revoke", { token: api.adminToken, body: { ID: g.id } });
  assert.equal(revoke.status, 403, revoke.text);
  assert.ok(replica.kv.get(`${INTERNAL_PREFIX}leased`), "the internal key survived");
});

test("the snapshot download needs the admin token and never contains the CA", async (t) => {
  const api = await startApiNode();
  t.after(() => api.close());
  await call(api.baseUrl, "POST", "/v3/kv/put", { token: api.clientToken, body: { key: b64("/app/kept"), value: b64("yes") } });
  assertRefused(api, await call(api.baseUrl, "GET", "/v3/phalanx/snapshot", { token: api.clientToken }), "snapshot with the client token");
  assert.equal((await call(api.baseUrl, "GET", "/v3/phalanx/snapshot")).status, 401);
  const res = await fetch(`${api.baseUrl}/v3/phalanx/snapshot`, { headers: { authorization: `Bearer ${api.adminToken}` } });
  assert.equal(res.status, 200);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const raw = Buffer.from(bytes).toString("latin1");
  assert.ok(!raw.includes("PRIVATE KEY"), "no PEM private key in the snapshot bytes");
  assert.ok(!raw.includes(INTERNAL_PREFIX), "no internal key name in the snapshot bytes");
  const parts = decodeSnapshot(bytes);
  const keys = [...parts.base, ...parts.changes].map((kv) => kv.key);
  assert.ok(keys.includes("/app/kept"), "user data is in the snapshot");
  assert.ok(keys.includes(memberKey(nodeId(1))), "member records are in the snapshot");
  assert.ok(!keys.some((k) => k.startsWith(INTERNAL_PREFIX)));
});

test("cluster operations need the admin token: 403 with the client token, 401 without a token, accepted with the admin token", async (t) => {
  const api = await startApiNode();
  t.after(() => api.close());
  const operations: { method: "GET" | "POST"; path: string; body?: unknown }[] = [
    { method: "POST", path: "/v3/phalanx/members/remove", body: { id: 7 } },
    { method: "POST", path: "/v3/phalanx/members/promote", body: { id: 7 } },
    { method: "POST", path: "/v3/phalanx/transfer", body: { to: 7 } },
    { method: "GET", path: "/v3/phalanx/snapshot" },
  ];
  for (const op of operations) {
    const asClient = await call(api.baseUrl, op.method, op.path, { token: api.clientToken, body: op.body });
    assert.equal(asClient.status, 403, `${op.path} with the client token: ${asClient.text}`);
    assert.match(String(asClient.json?.message), /needs the admin token/);
    const anonymous = await call(api.baseUrl, op.method, op.path, { body: op.body });
    assert.equal(anonymous.status, 401, `${op.path} without a token`);
    const wrong = await call(api.baseUrl, op.method, op.path, { token: "not-a-token", body: op.body });
    assert.equal(wrong.status, 401, `${op.path} with a wrong token`);
  }
  // Past authorization, the replica answers: node 7 is not a voter.
  const transfer = await call(api.baseUrl, "POST", "/v3/phalanx/transfer", { token: api.adminToken, body: { to: 7 } });
  assert.equal(transfer.status, 400, transfer.text);
  assert.match(String(transfer.json?.message), /not a voter/);
  // Read-only views take the client token; the admin token authorizes client calls too.
  assert.equal((await call(api.baseUrl, "GET", "/v3/phalanx/status", { token: api.clientToken })).status, 200);
  assert.equal((await call(api.baseUrl, "GET", "/v3/phalanx/members", { token: api.clientToken })).status, 200);
  const put = await call(api.baseUrl, "POST", "/v3/kv/put", { token: api.adminToken, body: { key: b64("by-admin"), value: b64("1") } });
  assert.equal(put.status, 200, put.text);
});

test("without a token every route but /healthz and the join route answers 401", async (t) => {
  const api = await startApiNode();
  t.after(() => api.close());
  for (const path of ["/v3/kv/range", "/v3/kv/put", "/v3/lease/grant", "/v3/watch", "/v3/no/such/route"]) {
    const r = await call(api.baseUrl, "POST", path, { body: { key: b64("k") } });
    assert.equal(r.status, 401, path);
    assert.equal(r.json?.phalanx_code, "unauthenticated");
    assert.equal(r.json?.code, 16, "gRPC Unauthenticated");
  }
  assert.equal((await call(api.baseUrl, "GET", "/healthz")).status, 200);
  // The join route is public: it checks the join token in its body instead.
  const join = await call(api.baseUrl, "POST", "/v3/phalanx/join", { body: { token: "phxjoin1.wrong", csr: "x", name: "n9", peerAddress: "127.0.0.1:1", clientAddress: "127.0.0.1:2" } });
  assert.equal(join.status, 401);
  assert.match(String(join.json?.message), /Join token is not valid/);
});

test("the gateway answers malformed requests precisely: bad JSON 400, wrong shape 400, unknown route 404, oversized body 413", async (t) => {
  const api = await startApiNode();
  t.after(() => api.close());
  const token = api.clientToken;
  const badJson = await call(api.baseUrl, "POST", "/v3/kv/put", { token, body: "{\"key\": " });
  assert.equal(badJson.status, 400);
  assert.equal(badJson.json?.phalanx_code, "bad_request");
  assert.equal(badJson.json?.code, 3);
  assert.match(String(badJson.json?.message), /^Request body is not valid JSON \(.+\): send one JSON object$/);
  const wrongShape = await call(api.baseUrl, "POST", "/v3/kv/put", { token, body: { key: 42 } });
  assert.equal(wrongShape.status, 400);
  assert.match(String(wrongShape.json?.message), /^Invalid request: key /);
  const unknown = await call(api.baseUrl, "POST", "/v3/kv/nope", { token, body: {} });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json?.phalanx_code, "not_found");
  assert.match(String(unknown.json?.message), /No route POST \/v3\/kv\/nope/);
  const wrongMethod = await call(api.baseUrl, "GET", "/v3/kv/range", { token });
  assert.equal(wrongMethod.status, 404);
  const big = await postRaw(api, "/v3/kv/put", token, Buffer.alloc(MAX_REQUEST_BODY_BYTES + 1, 0x20));
  assert.equal(big.status, 413);
  assert.match(big.text, /larger than the limit of 4194304 bytes/);
});

/** POSTs raw bytes with node:http (fetch would not show an answer sent before the body was read). */
function postRaw(api: ApiNode, path: string, token: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${api.baseUrl}${path}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": body.length } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      res.on("error", reject);
    });
    // The server may close the connection before the whole body is written: that is expected.
    req.on("error", (err: NodeJS.ErrnoException) => (err.code === "EPIPE" || err.code === "ECONNRESET" ? undefined : reject(err)));
    req.end(body);
  });
}
