// POST /v3/watch against a real one-node cluster: order of events, history replay, internal keys
// filtered out of wide watches, cancellation by the client, and the compacted-revision refusal.
import { test } from "node:test";
import assert from "node:assert/strict";
import { b64, call, startApiNode } from "../testing/api-testing.js";
import type { ApiNode } from "../testing/api-testing.js";
import { INTERNAL_PREFIX, MEMBER_PREFIX } from "./members.js";
import { pollUntil } from "./testing.js";

type Json = Record<string, unknown>;
const unb64 = (s: unknown): string => Buffer.from(String(s), "base64").toString("utf8");

/** How long a test waits for the lines it expects before failing. */
const LINE_DEADLINE_MS = 10_000;

interface WatchStream {
  readonly status: number;
  /** The refusal's body when status is not 200. */
  readonly refusal: Json | null;
  /** The next line's `result`; fails after LINE_DEADLINE_MS. */
  next(): Promise<Json>;
  close(): void;
}

async function openWatch(api: ApiNode, createRequest: Json): Promise<WatchStream> {
  const controller = new AbortController();
  const res = await fetch(`${api.baseUrl}/v3/watch`, {
    method: "POST",
    headers: { authorization: `Bearer ${api.clientToken}`, "content-type": "application/json" },
    body: JSON.stringify({ create_request: createRequest }),
    signal: controller.signal,
  });
  if (res.status !== 200) return { status: res.status, refusal: (await res.json()) as Json, next: () => Promise.reject(new Error("refused")), close: () => undefined };
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  const next = async (): Promise<Json> => {
    const deadline = Date.now() + LINE_DEADLINE_MS;
    for (;;) {
      const nl = buffered.indexOf("\n");
      if (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        return (JSON.parse(line) as { result: Json }).result;
      }
      if (Date.now() > deadline) throw new Error(`No watch line within ${LINE_DEADLINE_MS} ms`);
      const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), Math.max(1, deadline - Date.now())).unref());
      const chunk = await Promise.race([reader.read(), timer]);
      if (chunk === "timeout") continue;
      if (chunk.done) throw new Error("Watch stream ended");
      buffered += decoder.decode(chunk.value, { stream: true });
    }
  };
  return { status: 200, refusal: null, next, close: () => controller.abort() };
}

/** Reads event lines (skipping progress lines) until `until` holds for the events so far. */
async function eventsUntil(stream: WatchStream, until: (events: Json[]) => boolean): Promise<Json[]> {
  const events: Json[] = [];
  while (!until(events)) {
    const result = await stream.next();
    if (result.canceled === true) throw new Error(`Watch cancelled: ${String(result.cancel_reason)}`);
    events.push(...((result.events ?? []) as Json[]));
  }
  return events;
}

test("a watch delivers every change in revision order, puts and deletes, after a created line", async (t) => {
  const api = await startApiNode();
  t.after(() => api.close());
  const stream = await openWatch(api, { key: b64("/w/"), range_end: b64("/w0") });
  t.after(() => stream.close());
  assert.equal(stream.status, 200);
  const created = await stream.next();
  assert.equal(created.created, true);
  for (let i = 0; i < 30; i++) {
    const r = await call(api.baseUrl, "POST", "/v3/kv/put", { token: api.clientToken, body: { key: b64(`/w/${String(i).padStart(2, "0")}`), value: b64(String(i)) } });
    assert.equal(r.status, 200);
  }
  await call(api.baseUrl, "POST", "/v3/kv/deleterange", { token: api.clientToken, body: { key: b64("/w/00") } });
  await call(api.baseUrl, "POST", "/v3/kv/put", { token: api.clientToken, body: { key: b64("/elsewhere"), value: b64("x") } });
  const events = await eventsUntil(stream, (e) => e.length >= 31);
  assert.equal(events.length, 31);
  const keys = events.map((e) => unb64((e.kv as Json).key));
  assert.deepEqual(keys.slice(0, 30), Array.from({ length: 30 }, (_, i) => `/w/${String(i).padStart(2, "0")}`));
  assert.equal(keys[30], "/w/00");
  assert.equal(events[30]!.type, "DELETE");
  const revisions = events.map((e) => Number((e.kv as Json).mod_revision));
  for (let i = 1; i < revisions.length; i++) assert.ok(revisions[i]! > revisions[i - 1]!, `revision ${revisions[i]} after ${revisions[i - 1]}`);
});

test("a watch over every key replays history and shows member records but never an internal key", async (t) => {
  const api = await startApiNode();
  t.after(() => api.close());
  await call(api.baseUrl, "POST", "/v3/kv/put", { token: api.clientToken, body: { key: b64("/app/first"), value: b64("1") } });
  // From revision 1: the history holds the member record, the CA entry and /app/first.
  const stream = await openWatch(api, { key: b64(""), range_end: b64("\0"), start_revision: 1 });
  t.after(() => stream.close());
  assert.equal(stream.status, 200);
  await call(api.baseUrl, "POST", "/v3/kv/put", { token: api.clientToken, body: { key: b64("/app/after"), value: b64("2") } });
  const events = await eventsUntil(stream, (e) => e.some((x) => unb64((x.kv as Json).key) === "/app/after"));
  const keys = events.map((e) => unb64((e.kv as Json).key));
  assert.ok(keys.some((k) => k.startsWith(MEMBER_PREFIX)), `history replayed: ${keys.join(", ")}`);
  assert.ok(keys.includes("/app/first"));
  assert.deepEqual(keys.filter((k) => k.startsWith(INTERNAL_PREFIX)), [], "no internal key in the stream");
  assert.ok(api.node.replica.kv.get(`${INTERNAL_PREFIX}ca`), "the CA entry exists, so there was something to hide");
});

test("a watch naming internal keys only is refused with 403", async (t) => {
  const api = await startApiNode();
  t.after(() => api.close());
  // The node's own proxy watches the services prefixes in-process; count only what the API adds.
  const own = api.node.replica.watchers.size;
  for (const create of [{ key: b64(`${INTERNAL_PREFIX}ca`) }, { key: b64(INTERNAL_PREFIX), range_end: b64("/phalanx/cluster0") }]) {
    const stream = await openWatch(api, create);
    assert.equal(stream.status, 403);
    assert.equal(stream.refusal?.phalanx_code, "permission_denied");
    assert.match(String(stream.refusal?.message), /internal to the cluster/);
  }
  assert.equal(api.node.replica.watchers.size, own, "no watcher was registered");
});

test("closing the stream cancels the watcher on the node", async (t) => {
  const api = await startApiNode();
  t.after(() => api.close());
  // The node's own proxy watches the services prefixes in-process; count only what the API adds.
  const own = api.node.replica.watchers.size;
  const stream = await openWatch(api, { key: b64("/c/"), range_end: b64("/c0") });
  t.after(() => stream.close());
  assert.equal((await stream.next()).created, true);
  assert.equal(api.node.replica.watchers.size, own + 1);
  stream.close();
  await pollUntil(() => (api.node.replica.watchers.size === own ? true : undefined), LINE_DEADLINE_MS, "the watcher to be cancelled");
});

test("a watch from a compacted revision is refused with the compaction revision", async (t) => {
  const api = await startApiNode();
  t.after(() => api.close());
  let revision = 0;
  for (let i = 0; i < 5; i++) {
    const r = await call(api.baseUrl, "POST", "/v3/kv/put", { token: api.clientToken, body: { key: b64("/k"), value: b64(String(i)) } });
    revision = Number((r.json?.header as Json).revision);
  }
  const compacted = await call(api.baseUrl, "POST", "/v3/kv/compaction", { token: api.clientToken, body: { revision } });
  assert.equal(compacted.status, 200, compacted.text);
  const stream = await openWatch(api, { key: b64("/k"), start_revision: 1 });
  assert.equal(stream.status, 400);
  assert.equal(stream.refusal?.phalanx_code, "compacted");
  assert.equal(stream.refusal?.code, 11, "gRPC OutOfRange, as etcd");
  assert.equal(stream.refusal?.compact_revision, String(revision));
  const fresh = await openWatch(api, { key: b64("/k"), start_revision: revision });
  t.after(() => fresh.close());
  assert.equal(fresh.status, 200, "a watch from the compaction revision itself is served");
});
