// The leader forwarder (forward.ts) against a fake leader: what it sends, what it relays, and which
// failures it reports as "retry" (the request certainly never left) versus "unknown_outcome" (it may
// have reached the leader). The second half drives a real follower's client API (http-api.ts) so
// the one-hop rule and the retryable answer on an unreachable leader are seen end to end.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer as createNetServer } from "node:net";
import type { AddressInfo, Socket } from "node:net";
import { pino } from "pino";
import { nodeId } from "../raft/raft.js";
import type { NodeId } from "../raft/raft.js";
import { ServerError } from "./errors.js";
import { LeaderForwarder } from "./forward.js";
import { createClientApiHandler, FORWARDED_HEADER } from "./http-api.js";
import { MemberDirectory } from "./members.js";
import { LocalCluster } from "./testing.js";

const LEADER = nodeId(7);
const silent = pino({ level: "silent" });

interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

/** A fake leader's client API on an ephemeral port: records each request, answers with `reply`. */
async function fakeLeader(reply: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<{ address: string; seen: SeenRequest[]; close(): Promise<void> }> {
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      reply(req, res, body);
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    seen,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function directory(id: NodeId, clientAddress: string): MemberDirectory {
  return new MemberDirectory([{ id, name: `n${id}`, peerAddress: "127.0.0.1:1", clientAddress }]);
}

function forwarderTo(id: NodeId, clientAddress: string): LeaderForwarder {
  return new LeaderForwarder(directory(id, clientAddress), "http", silent);
}

test("forward() sends the request once to the leader, marked as forwarded, with the caller's credentials", async (t) => {
  const leader = await fakeLeader((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"header":{"revision":"5"}}');
  });
  t.after(() => leader.close());
  const fwd = forwarderTo(LEADER, leader.address);
  t.after(() => fwd.close());

  const reply = await fwd.forward(LEADER, "/v3/kv/put", { key: "a2V5", value: "dg==" }, "Bearer secret");

  assert.deepEqual(reply, { status: 200, body: '{"header":{"revision":"5"}}' });
  assert.equal(leader.seen.length, 1, "exactly one request reaches the leader");
  const r = leader.seen[0]!;
  assert.equal(r.method, "POST");
  assert.equal(r.url, "/v3/kv/put");
  assert.deepEqual(JSON.parse(r.body), { key: "a2V5", value: "dg==" });
  assert.equal(r.headers[FORWARDED_HEADER], "1", "the leader must be able to tell a forwarded request");
  assert.equal(r.headers.authorization, "Bearer secret");
  assert.equal(r.headers["content-type"], "application/json");
});

test("forward() relays the leader's error status and body unchanged", async (t) => {
  const body = '{"error":"compare failed","message":"Lease 12 not found","code":5,"phalanx_code":"lease_not_found"}';
  const leader = await fakeLeader((_req, res) => {
    res.writeHead(404, { "content-type": "application/json" });
    res.end(body);
  });
  t.after(() => leader.close());
  const fwd = forwarderTo(LEADER, leader.address);
  t.after(() => fwd.close());

  assert.deepEqual(await fwd.forward(LEADER, "/v3/lease/revoke", { ID: "12" }, undefined), { status: 404, body });
  assert.deepEqual(await fwd.forward(LEADER, "/v3/lease/revoke", { ID: "12" }, undefined), { status: 404, body });
  assert.equal(leader.seen.length, 2, "one request per forward, none repeated by the relay");
  assert.equal(leader.seen[0]!.headers.authorization, undefined, "no credentials are invented");
});

test("forward() answers null (retryable) when the leader's address is unknown or the connection is refused", async (t) => {
  const fwd = forwarderTo(LEADER, `127.0.0.1:${await closedPort()}`);
  t.after(() => fwd.close());
  assert.equal(await fwd.forward(nodeId(99), "/v3/kv/put", {}, undefined), null, "unknown member");
  assert.equal(await fwd.forward(LEADER, "/v3/kv/put", {}, undefined), null, "connection refused: the request never left");
});

test("forward() answers null (retryable) when the leader does not accept the connection in time: nothing was sent", async (t) => {
  // A TCP listener that never answers the TLS handshake: the connection is never made, as behind a
  // partition, so the relay must not report an unknown outcome (and must not wait 10 s).
  const sockets: Socket[] = [];
  const silentServer = createNetServer((sock) => void sockets.push(sock));
  await new Promise<void>((r) => silentServer.listen(0, "127.0.0.1", r));
  t.after(() => {
    for (const sock of sockets) sock.destroy();
    silentServer.close();
  });
  const { port } = silentServer.address() as AddressInfo;
  const fwd = new LeaderForwarder(directory(LEADER, `127.0.0.1:${port}`), "https", silent, undefined, { connectTimeoutMs: 200 });
  t.after(() => fwd.close());
  assert.equal(await fwd.forward(LEADER, "/v3/kv/put", {}, undefined), null);
  assert.ok(sockets.length > 0, "the relay never reached the listener: the test would prove nothing");
});

test("forward() answers unknown_outcome when the connection breaks after the request was sent", async (t) => {
  // The leader reads the whole request (it may have proposed it) and then the connection resets.
  const leader = await fakeLeader((req) => req.socket.destroy());
  t.after(() => leader.close());
  const fwd = forwarderTo(LEADER, leader.address);
  t.after(() => fwd.close());

  await assert.rejects(fwd.forward(LEADER, "/v3/kv/txn", { compare: [] }, undefined), (err: unknown) => {
    assert.ok(err instanceof ServerError, `expected a ServerError, got ${String(err)}`);
    assert.equal(err.code, "unknown_outcome");
    assert.match(err.message, /leader 7/);
    return true;
  });
  assert.equal(leader.seen.length, 1, "the request reached the leader exactly once");
});

test("forward() answers unknown_outcome when the leader's answer breaks off mid-body", async (t) => {
  const leader = await fakeLeader((req, res) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
    res.write('{"header":');
    setImmediate(() => req.socket.destroy());
  });
  t.after(() => leader.close());
  const fwd = forwarderTo(LEADER, leader.address);
  t.after(() => fwd.close());

  await assert.rejects(fwd.forward(LEADER, "/v3/kv/put", {}, undefined), (err: unknown) => err instanceof ServerError && err.code === "unknown_outcome");
});

test("forward() answers unknown_outcome when the leader never answers (after FORWARD_TIMEOUT_MS)", async (t) => {
  // The timeout is a constant (10 s) that cannot be injected: this test waits it out.
  const leader = await fakeLeader(() => undefined);
  t.after(() => leader.close());
  const fwd = forwarderTo(LEADER, leader.address);
  t.after(() => fwd.close());

  await assert.rejects(fwd.forward(LEADER, "/v3/kv/put", {}, undefined), (err: unknown) => err instanceof ServerError && err.code === "unknown_outcome");
  assert.equal(leader.seen.length, 1);
});

// Through a real follower's client API: the follower's replica refuses with not_leader and names
// the leader; the member directory sends the forward to the fake leader instead of the real one.
async function followerApi(t: { after(fn: () => Promise<void> | void): void }, leaderAddress: string): Promise<{ url: string }> {
  const cluster = await LocalCluster.start(3);
  t.after(() => cluster.close());
  const leader = await cluster.waitForLeader();
  const follower = [...cluster.members.values()].map((m) => m.replica).find((r) => r.id !== leader.id)!;
  const forwarder = forwarderTo(leader.id, leaderAddress);
  t.after(() => forwarder.close());
  const handler = createClientApiHandler({ replica: follower, clusterId: "test", tokens: { client: "tok", admin: "admin-tok" }, forwarder, logger: silent });
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const PUT_BODY = JSON.stringify({ key: Buffer.from("k").toString("base64"), value: Buffer.from("v").toString("base64") });

test("a follower relays a write to the leader and answers the leader's status and body unchanged", async (t) => {
  const leaderBody = '{"error":"too many","message":"Too many writes in flight: retry later","code":8,"phalanx_code":"overloaded"}';
  const leader = await fakeLeader((_req, res) => {
    res.writeHead(429, { "content-type": "application/json" });
    res.end(leaderBody);
  });
  t.after(() => leader.close());
  const api = await followerApi(t, leader.address);

  const res = await fetch(`${api.url}/v3/kv/put`, { method: "POST", headers: { authorization: "Bearer tok", "content-type": "application/json" }, body: PUT_BODY });

  assert.equal(res.status, 429);
  assert.equal(await res.text(), leaderBody);
  assert.equal(leader.seen.length, 1);
  assert.equal(leader.seen[0]!.headers[FORWARDED_HEADER], "1");
  assert.deepEqual(JSON.parse(leader.seen[0]!.body), JSON.parse(PUT_BODY));
});

test("a follower does not forward a request that was already forwarded: it answers not_leader", async (t) => {
  const leader = await fakeLeader((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end("{}");
  });
  t.after(() => leader.close());
  const api = await followerApi(t, leader.address);

  const res = await fetch(`${api.url}/v3/kv/put`, { method: "POST", headers: { authorization: "Bearer tok", "content-type": "application/json", [FORWARDED_HEADER]: "1" }, body: PUT_BODY });

  assert.equal(res.status, 503);
  assert.equal(((await res.json()) as { phalanx_code?: string }).phalanx_code, "not_leader");
  assert.equal(leader.seen.length, 0, "one hop at most");
});

test("a follower whose leader refuses the connection answers a retryable not_leader", async (t) => {
  const api = await followerApi(t, `127.0.0.1:${await closedPort()}`);

  const res = await fetch(`${api.url}/v3/kv/put`, { method: "POST", headers: { authorization: "Bearer tok", "content-type": "application/json" }, body: PUT_BODY });

  assert.equal(res.status, 503);
  assert.equal(((await res.json()) as { phalanx_code?: string }).phalanx_code, "not_leader");
});

test("a follower whose relay breaks after sending answers 504 unknown_outcome", async (t) => {
  const leader = await fakeLeader((req) => req.socket.destroy());
  t.after(() => leader.close());
  const api = await followerApi(t, leader.address);

  const res = await fetch(`${api.url}/v3/kv/put`, { method: "POST", headers: { authorization: "Bearer tok", "content-type": "application/json" }, body: PUT_BODY });

  assert.equal(res.status, 504);
  assert.equal(((await res.json()) as { phalanx_code?: string }).phalanx_code, "unknown_outcome");
  assert.equal(leader.seen.length, 1);
});
