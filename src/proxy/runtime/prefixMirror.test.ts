// The mirror against a scripted store client: a broken watch resumes from the revision after the
// last one seen and keeps every key meanwhile; only compaction makes it list again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PrefixMirror } from "./prefixMirror.js";
import type { KvEntry, KvEvent, KvWatchClient } from "./storeSource.js";
import { waitFor } from "./testkit.js";

interface OpenWatch {
  readonly fromRevision: number;
  readonly onEvents: (events: readonly KvEvent[]) => void;
  readonly onError: (error: Error) => void;
  cancelled: boolean;
}

function fakeClient(listing: { revision: number; entries: KvEntry[] }): KvWatchClient & { watches: OpenWatch[]; lists: number; failLists: number } {
  const client = {
    watches: [] as OpenWatch[],
    lists: 0,
    failLists: 0,
    async getPrefix() {
      client.lists += 1;
      if (client.failLists > 0) {
        client.failLists -= 1;
        throw new Error("store unreachable");
      }
      return listing;
    },
    watchPrefix(_prefix: string, fromRevision: number, onEvents: OpenWatch["onEvents"], onError: OpenWatch["onError"]) {
      const w: OpenWatch = { fromRevision, onEvents, onError, cancelled: false };
      client.watches.push(w);
      return { cancel: () => void (w.cancelled = true) };
    },
  };
  return client;
}

const entry = (key: string, modRevision: number): KvEntry => ({ key, value: `v${modRevision}`, modRevision, lease: 7 });

test("a broken watch resumes from the revision after the last event, keeping every key meanwhile", async (t) => {
  const client = fakeClient({ revision: 10, entries: [entry("/p/a", 5), entry("/p/b", 9)] });
  const errors: Error[] = [];
  let changes = 0;
  const mirror = new PrefixMirror("/p/", client, { onChange: () => (changes += 1), onError: (e) => errors.push(e) });
  t.after(() => mirror.stop());
  await mirror.start();
  assert.equal(client.watches[0]?.fromRevision, 11);
  client.watches[0]!.onEvents([{ type: "delete", key: "/p/a", modRevision: 12 }, { type: "put", key: "/p/c", value: "c", modRevision: 14, lease: 3 }]);
  assert.deepEqual([...mirror.values.keys()].sort(), ["/p/b", "/p/c"]);
  assert.equal(mirror.values.get("/p/c")?.lease, 3);

  client.watches[0]!.onError(new Error("connection lost"));
  assert.deepEqual([...mirror.values.keys()].sort(), ["/p/b", "/p/c"], "nothing is forgotten while the watch is down");
  assert.equal(errors.length, 1);
  await waitFor(() => client.watches.length === 2, "the watch to resume");
  assert.equal(client.watches[1]?.fromRevision, 15, "resumed right after the last revision seen");
  assert.equal(client.lists, 1, "no listing needed to resume");
  // An event replayed from before what the mirror holds changes nothing.
  client.watches[1]!.onEvents([{ type: "put", key: "/p/c", value: "old", modRevision: 13 }]);
  assert.equal(mirror.values.get("/p/c")?.value, "c");
  assert.ok(changes >= 1);
});

test("a compacted history makes the mirror list again, retrying a failed listing without dropping keys", async (t) => {
  const client = fakeClient({ revision: 10, entries: [entry("/p/a", 5)] });
  const mirror = new PrefixMirror("/p/", client, { onChange: () => undefined, onError: () => undefined });
  t.after(() => mirror.stop());
  await mirror.start();
  client.failLists = 1;
  client.watches[0]!.onError(Object.assign(new Error("required revision has been compacted"), { code: "compacted" }));
  await waitFor(() => client.lists === 2, "a first listing attempt");
  assert.deepEqual([...mirror.values.keys()], ["/p/a"], "a failed listing keeps the copy");
  await waitFor(() => client.watches.length === 2, "a listing that works and a new watch", 5_000);
  assert.equal(client.lists, 3);
  assert.equal(client.watches[1]?.fromRevision, 11);
});
