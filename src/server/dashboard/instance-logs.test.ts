// The dashboard's log relay without a cluster: a log on this node is read here, one on another node
// is asked of that node once (never relayed again), and an unreachable node or a bad request get
// precise errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IncomingMessage } from "node:http";
import type { LeaderForwarder } from "../forward.js";
import { ServerError } from "../errors.js";
import { INSTANCE_LOGS_PATH, instanceLogs } from "./instance-logs.js";

function request(headers: Record<string, string> = {}): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

/** A forwarder that records its calls and answers with `reply` (null: unreachable). */
function forwarder(reply: { status: number; body: string } | null): { fwd: LeaderForwarder; calls: { node: number; path: string; body: unknown; auth: string | undefined }[] } {
  const calls: { node: number; path: string; body: unknown; auth: string | undefined }[] = [];
  const fwd = { forward: async (node: number, path: string, body: unknown, auth: string | undefined) => (calls.push({ node, path, body, auth }), reply) } as unknown as LeaderForwarder;
  return { fwd, calls };
}

test("instanceLogs() reads a log of this node, the end of it by `tail`", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-dash-logs-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, "db"));
  await writeFile(join(dir, "db", "db-1.log"), "first line\nsecond line\nthird line\n");
  const { fwd, calls } = forwarder(null);
  const piece = await instanceLogs({ self: 1, logDir: dir, forwarder: fwd, adminToken: "adm" }, { node: 1, service: "db", instance: "db-1", tail: 16 }, request());
  assert.equal(piece.node, 1);
  assert.equal(piece.text, "third line\n", "a tail starts at a line boundary");
  assert.equal(calls.length, 0);
  await assert.rejects(instanceLogs({ self: 1, logDir: dir, forwarder: fwd, adminToken: null }, { node: 1, service: "db", instance: "db-9" }, request()), /No log of instance db-9 of db on this node/);
});

test("instanceLogs() asks the instance's node once, with the caller's token, and refuses to relay a relayed request", async () => {
  const answer = { node: 2, text: "serving db-2\n", next: 13, size: 13 };
  const { fwd, calls } = forwarder({ status: 200, body: JSON.stringify(answer) });
  const deps = { self: 1, logDir: undefined, forwarder: fwd, adminToken: "own-admin" };
  assert.deepEqual(await instanceLogs(deps, { node: 2, service: "db", instance: "db-2" }, request({ authorization: "Bearer caller" })), answer);
  assert.deepEqual(calls, [{ node: 2, path: INSTANCE_LOGS_PATH, body: { node: 2, service: "db", instance: "db-2", tail: 16 * 1024 }, auth: "Bearer caller" }]);
  // A caller authenticated by its client certificate has no header: the node's admin token is used.
  await instanceLogs(deps, { node: 2, service: "db", instance: "db-2" }, request());
  assert.equal(calls[1]!.auth, "Bearer own-admin");
  await assert.rejects(instanceLogs(deps, { node: 2, service: "db", instance: "db-2" }, request({ "x-phalanx-forwarded": "1" })), /Node 1 is not node 2/);
  assert.equal(calls.length, 2, "a relayed request is not relayed again");
});

test("instanceLogs() names the node that cannot be reached or refuses, and rejects a request without node, service and instance", async () => {
  const down = forwarder(null);
  await assert.rejects(instanceLogs({ self: 1, logDir: undefined, forwarder: down.fwd, adminToken: null }, { node: 3, service: "db", instance: "db-3" }, request()),
    (err: unknown) => err instanceof ServerError && err.code === "stopped" && /Node 3 is not reachable/.test(err.message));
  const missing = forwarder({ status: 404, body: JSON.stringify({ message: "No log of instance db-3 of db on this node" }) });
  await assert.rejects(instanceLogs({ self: 1, logDir: undefined, forwarder: missing.fwd, adminToken: null }, { node: 3, service: "db", instance: "db-3" }, request()),
    (err: unknown) => err instanceof ServerError && err.code === "not_found" && err.message === "Node 3: No log of instance db-3 of db on this node");
  for (const body of [{}, { node: 0, service: "db", instance: "x" }, { node: 1, service: "db" }, { node: 1, service: "db", instance: "x", tail: -1 }]) {
    await assert.rejects(instanceLogs({ self: 1, logDir: undefined, forwarder: down.fwd, adminToken: null }, body, request()), (err: unknown) => err instanceof ServerError && err.code === "bad_request", JSON.stringify(body));
  }
});
