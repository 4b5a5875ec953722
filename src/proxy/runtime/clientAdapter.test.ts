// The SDK adapter maps prefix reads and watch changes (with each key's lease) onto the store source's interface.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Kv, WatchChange } from "../../client/client.js";
import { kvWatchClientFrom, type WatchingClient } from "./clientAdapter.js";
import type { KvEvent } from "./storeSource.js";

const kv = (key: string, value: string, modRevision: number): Kv => ({ key, value, createRevision: 1, modRevision, version: 1, lease: 3 });

test("getPrefix reads the prefix at one revision and watchPrefix forwards puts and deletes", async () => {
  let onChanges: ((changes: WatchChange[], revision: number) => void) | null = null;
  let stopped = false;
  const calls: string[] = [];
  const fake: WatchingClient = {
    get: async (key, opts) => {
      calls.push(`get ${key} prefix=${String(opts?.prefix)}`);
      return { kvs: [kv(`${key}backends/p/a`, '{"address":"10.0.0.1:80"}', 7)], count: 1, header: { revision: 9, memberId: 1, raftTerm: 2 } };
    },
    watch: (key, opts, changes) => {
      calls.push(`watch ${key} prefix=${String(opts.prefix)} from=${String(opts.fromRevision)}`);
      onChanges = changes;
      return { stop: () => (stopped = true), nextRevision: 10 };
    },
  };
  const client = kvWatchClientFrom(fake);
  const listed = await client.getPrefix("/phalanx/proxy/");
  assert.deepEqual(listed, { revision: 9, entries: [{ key: "/phalanx/proxy/backends/p/a", value: '{"address":"10.0.0.1:80"}', modRevision: 7, lease: 3 }] });
  const seen: KvEvent[] = [];
  const watch = client.watchPrefix("/phalanx/proxy/", 10, (events) => seen.push(...events), () => {});
  assert.ok(onChanges);
  (onChanges as (changes: WatchChange[], revision: number) => void)(
    [{ type: "put", kv: kv("/phalanx/proxy/backends/p/b", "{}", 10) }, { type: "delete", kv: kv("/phalanx/proxy/backends/p/a", "", 11) }],
    11,
  );
  assert.deepEqual(seen, [
    { type: "put", key: "/phalanx/proxy/backends/p/b", value: "{}", modRevision: 10, lease: 3 },
    { type: "delete", key: "/phalanx/proxy/backends/p/a", modRevision: 11 },
  ]);
  watch.cancel();
  assert.equal(stopped, true);
  assert.deepEqual(calls, ["get /phalanx/proxy/ prefix=true", "watch /phalanx/proxy/ prefix=true from=10"]);
});
