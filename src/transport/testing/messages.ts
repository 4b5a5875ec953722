// Test fixtures: one message of every type, appends of any size, and a seeded random generator.
import type { Entry, Message, NodeId } from "../../raft/types.js";

const n = (x: number): NodeId => x as NodeId;

/** The project's seeded generator for tests (mulberry32), shared with the KV and storage tests. */
export { seededRandom } from "../../kv/testkit.js";

/** Bytes 0, 1, 2, ... of length `size`, shifted by `seed`. */
export function patternBytes(size: number, seed = 0): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i + seed) & 0xff;
  return out;
}

/** An append from `from` to `to` carrying `count` entries of `entryBytes` bytes after `prevIndex`. */
export function appendMessage(from: number, to: number, prevIndex: number, count: number, entryBytes: number): Message {
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    entries.push({ term: 3, index: prevIndex + 1 + i, type: "normal", data: patternBytes(entryBytes, prevIndex + i) });
  }
  return { type: "append", from: n(from), to: n(to), term: 3, prevIndex, prevTerm: 3, entries, commit: prevIndex };
}

/** One message of every type from `from` to `to`, with edge values (big numbers, unicode, empty data). */
export function everyMessageType(from: number, to: number): Message[] {
  const base = { from: n(from), to: n(to), term: 2 ** 40 + 7 };
  return [
    {
      ...base, type: "append", prevIndex: 2 ** 53 - 10, prevTerm: 5, commit: 99,
      entries: [
        { term: 5, index: 2 ** 53 - 9, type: "normal", data: new Uint8Array(0) },
        { term: 5, index: 2 ** 53 - 8, type: "config", data: patternBytes(7) },
        { term: 6, index: 2 ** 53 - 7, type: "normal", data: patternBytes(256 << 10, 3) },
      ],
    },
    { ...base, type: "append", prevIndex: 0, prevTerm: 0, commit: 0, entries: [] },
    { ...base, type: "appendResponse", reject: true, index: 17, hintIndex: 12, hintTerm: 4 },
    { ...base, type: "appendResponse", reject: false, index: 18, hintIndex: 0, hintTerm: 0 },
    { ...base, type: "heartbeat", commit: 42, context: "" },
    { ...base, type: "heartbeat", commit: 43, context: "read-7 ünïcødé ✓" },
    { ...base, type: "heartbeatResponse", context: "read-7" },
    { ...base, type: "vote", lastIndex: 10, lastTerm: 2, transfer: false },
    { ...base, type: "preVote", lastIndex: 11, lastTerm: 3, transfer: true },
    { ...base, type: "voteResponse", reject: false },
    { ...base, type: "preVoteResponse", reject: true },
    {
      ...base, type: "snapshot",
      snapshot: { meta: { index: 1000, term: 9, confState: { voters: [n(1), n(2), n(3)], learners: [n(4)] } }, data: patternBytes(1 << 20, 1) },
    },
    { ...base, type: "snapshot", snapshot: { meta: { index: 1, term: 1, confState: { voters: [], learners: [] } }, data: new Uint8Array(0) } },
    { ...base, type: "timeoutNow" },
    { ...base, type: "readIndex", context: "ctx-1" },
    { ...base, type: "readIndexResponse", context: "ctx-1", index: 555 },
  ];
}
