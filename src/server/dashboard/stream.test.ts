// DashboardStream over a real HTTP socket with a stand-in replica (its change and leader
// listeners, its event keys): a page gets a state at once, a burst of applied changes makes one
// build rather than one each, new events go out as feed messages, pages beyond the bound are
// refused with 503, and pages that go away are forgotten.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import type { KeyValue } from "../../kv/types.js";
import type { Replica } from "../replica.js";
import { encodeRecord, eventKey, type EventRecord } from "../services/layout.js";
import type { DashboardState } from "./state.js";
import { DashboardStream, MAX_DASHBOARD_STREAMS } from "./stream.js";
import { waitUntil } from "../../testing/wait.js";

class FakeReplica {
  readonly applied = new Set<(keys: readonly string[] | null) => void>();
  readonly events: KeyValue[] = [];

  onAppliedKeys(l: (keys: readonly string[] | null) => void): () => void {
    this.applied.add(l);
    return () => this.applied.delete(l);
  }

  onLeaderChange(): () => void {
    return () => undefined;
  }

  localPrefix(): readonly KeyValue[] {
    return this.events;
  }

  addEvent(seq: number, e: EventRecord): void {
    this.events.push({ key: eventKey(seq), value: encodeRecord(e), createRevision: seq as never, modRevision: seq as never, version: 1, lease: 0 as never });
    for (const l of this.applied) l([eventKey(seq)]);
  }
}

/** Reads server-sent events from a response body; next(type) resolves with the data of the next message of that type. */
function sseReader(body: ReadableStream<Uint8Array>): { next(type: string, match?: (data: unknown) => boolean): Promise<unknown> } {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return {
    async next(type, match = () => true) {
      for (;;) {
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const t = /^event: (.*)$/m.exec(block)?.[1];
          const d = /^data: (.*)$/m.exec(block)?.[1];
          if (t === type && d !== undefined && match(JSON.parse(d))) return JSON.parse(d) as unknown;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before a ${type} message`);
        buffer += value;
      }
    },
  };
}

test("DashboardStream: a state at once, one build for a burst of changes, events as feed messages, 503 beyond the bound", async (t) => {
  const replica = new FakeReplica();
  let builds = 0;
  let changes = 0;
  const stream = new DashboardStream({
    replica: replica as unknown as Replica,
    build: async () => {
      builds++;
      return { generatedAtMs: changes } as unknown as DashboardState;
    },
    logger: pino({ level: "silent" }),
  });
  const server = createServer((req, res) => void stream.serve(req, res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => {
    stream.stop();
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const aborts: AbortController[] = [];
  t.after(() => aborts.forEach((a) => a.abort()));
  const open = async (): Promise<Response> => {
    const a = new AbortController();
    aborts.push(a);
    return fetch(url, { signal: a.signal });
  };

  const first = await open();
  assert.equal(first.status, 200);
  assert.match(first.headers.get("content-type") ?? "", /^text\/event-stream/);
  const page = sseReader(first.body!);
  await page.next("state");

  const before = builds;
  changes = 50;
  for (let k = 0; k < 50; k++) for (const l of replica.applied) l(["/phalanx/instances/1/web-1"]);
  await page.next("state", (s) => (s as { generatedAtMs: number }).generatedAtMs === 50);
  // One build for the burst (plus, on a slow machine, perhaps the 1 s tick).
  assert.ok(builds - before <= 2, `${builds - before} builds for a burst of 50 changes`);

  replica.addEvent(1, { atMs: 1, kind: "node", type: "node_down", node: 3, message: "Node n3 (3) lost its lease" });
  const feed = (await page.next("feed")) as EventRecord & { seq: number };
  assert.deepEqual([feed.seq, feed.type, feed.node], [1, "node_down", 3]);

  const more = await Promise.all(Array.from({ length: MAX_DASHBOARD_STREAMS - 1 }, () => open()));
  assert.ok(more.every((r) => r.status === 200));
  const refused = await open();
  assert.equal(refused.status, 503);
  assert.match(await refused.text(), /already streams to 32 dashboards/);

  // Pages that go away are forgotten (and with the last one the hub stops building).
  assert.equal(stream.openPages, MAX_DASHBOARD_STREAMS);
  aborts.forEach((a) => a.abort());
  await waitUntil("every page forgotten", () => stream.openPages === 0, 5000);
});
