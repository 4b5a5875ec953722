// One event appended to the cluster's event log (`phalanx events`, the dashboard's feed) by a route
// on the leader: an operator's action that no controller round would record on its own (a
// leadership transfer, a switchover request). The controllers append too, so a clash on the next
// sequence number is retried, a bounded number of times.
import type { Replica } from "../replica.js";
import { eventsTxn } from "./controller.js";
import { MAX_EVENT_ATTEMPTS } from "./failover-controller.js";
import { EVENT_PREFIX, eventSeq, type EventRecord } from "./layout.js";

/** Appends `e` after the newest stored event; false when every attempt lost the race or failed (the action itself stands). */
export async function appendEvent(replica: Replica, e: EventRecord): Promise<boolean> {
  for (let attempt = 0; attempt < MAX_EVENT_ATTEMPTS; attempt++) {
    const keys = replica.localPrefix(EVENT_PREFIX);
    const last = keys.length === 0 ? 0 : eventSeq(keys[keys.length - 1]!.key);
    const r = await replica.propose({ type: "txn", ...eventsTxn(last, keys.length, [e]) }).catch(() => null);
    if (r === null) return false;
    if (r.ok && r.type === "txn" && r.succeeded) return true;
    if (!r.ok) return false;
  }
  return false;
}
