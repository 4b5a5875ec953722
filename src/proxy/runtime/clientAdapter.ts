// Adapts the client SDK (src/client) to the small KvWatchClient interface the store config source
// needs, so the source can be tested with an in-memory fake and run against a real cluster.
import type { PhalanxClient } from "../../client/client.js";
import type { KvWatchClient } from "./storeSource.js";

/** The SDK calls the adapter uses. */
export type WatchingClient = Pick<PhalanxClient, "get" | "watch">;

/** A KvWatchClient over the SDK: a linearizable prefix read, and a resuming prefix watch. */
export function kvWatchClientFrom(client: WatchingClient): KvWatchClient {
  return {
    async getPrefix(prefix) {
      const r = await client.get(prefix, { prefix: true });
      return { revision: r.header.revision, entries: r.kvs.map((kv) => ({ key: kv.key, value: kv.value, modRevision: kv.modRevision, lease: kv.lease })) };
    },
    watchPrefix(prefix, fromRevision, onEvents, onError) {
      const watch = client.watch(
        prefix,
        { prefix: true, fromRevision },
        (changes) =>
          onEvents(changes.map((c) => ({ type: c.type, key: c.kv.key, ...(c.type === "put" ? { value: c.kv.value, lease: c.kv.lease } : {}), modRevision: c.kv.modRevision }))),
        onError,
      );
      return { cancel: () => watch.stop() };
    },
  };
}
