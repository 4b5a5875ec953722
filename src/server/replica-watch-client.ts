// The proxy's store client inside a node: reads and watches this node's own replica of the store
// in-process (its WatcherRegistry), instead of going through the HTTP client API.
//
// Why in-process rather than the SDK: a change reaches the proxy in the same turn the node applies
// it (no HTTP hop, no JSON, no token, no reconnect), so a node's proxy drops a dead instance as soon
// as its own store knows; and the only ways such a watch ends are the hub's own (slow watcher,
// compaction), both resumed by the mirror. When this node is cut off from the leader its copy
// stops advancing and the proxy keeps routing to the instances it knew, with outlier detection and
// retries as the guard, which is what a proxy should do when the store is unreachable.
import { prefixRange } from "../kv/keys.js";
import type { WatchEvent } from "../kv/store.js";
import type { KvEvent, KvWatchClient } from "../proxy/runtime/storeSource.js";
import type { Replica } from "./replica.js";
import { ServerError } from "./errors.js";

const utf8 = new TextDecoder();

/** A KvWatchClient over a replica's local store (serializable reads, local watchers). */
export function kvWatchClientFromReplica(replica: Pick<Replica, "kv" | "watchers" | "onWatchReady">): KvWatchClient {
  return {
    async getPrefix(prefix) {
      const r = replica.kv.range(prefixRange(prefix));
      if (!r.ok) throw new ServerError("bad_request", `Cannot list ${prefix} in the local store: ${r.message}`);
      return { revision: r.revision, entries: r.kvs.map((kv) => ({ key: kv.key, value: utf8.decode(kv.value), modRevision: kv.modRevision, lease: kv.lease })) };
    },
    watchPrefix(prefix, fromRevision, onEvents, onError) {
      let ended = false;
      const created = replica.watchers.watch({ ...prefixRange(prefix), startRevision: fromRevision });
      if (!created.ok) {
        const error = Object.assign(new Error(`Cannot watch ${prefix} from revision ${fromRevision}: ${created.message}`), { code: created.code });
        setImmediate(() => {
          if (!ended) onError(error);
        });
        return { cancel: () => void (ended = true) };
      }
      const watchId = created.watchId;
      const end = (): void => {
        if (ended) return;
        ended = true;
        unsubscribe();
        replica.watchers.cancel(watchId);
      };
      const pump = (): void => {
        while (!ended) {
          const batch = replica.watchers.take(watchId);
          if (batch === undefined) return;
          if (batch.type === "cancelled") {
            end();
            onError(Object.assign(new Error(`Watch on ${prefix} cancelled: ${batch.message}`), { code: batch.code }));
            return;
          }
          if (batch.type === "events" && batch.events.length > 0) onEvents(batch.events.map(toKvEvent));
        }
      };
      const unsubscribe = replica.onWatchReady(pump);
      // A watch from the past replays history at once, without waiting for the next apply.
      setImmediate(pump);
      return { cancel: end };
    },
  };
}

function toKvEvent(e: WatchEvent): KvEvent {
  return e.type === "put"
    ? { type: "put", key: e.kv.key, value: utf8.decode(e.kv.value), modRevision: e.kv.modRevision, lease: e.kv.lease }
    : { type: "delete", key: e.kv.key, modRevision: e.kv.modRevision };
}
