// A running hash of a node's applied sequence, so that the register simulator's checkers compare
// two nodes' histories in O(1) at every applied index (state machine safety, Raft §5.4.3).
import type { Entry } from "../raft/raft.js";

/** Mixes one entry into a running 53-bit hash of the applied sequence. */
export function chainHash(previous: number, entry: Entry): number {
  let a = (previous % 0x100000000) ^ 0x811c9dc5;
  let b = Math.floor(previous / 0x100000000) ^ 0x1b873593;
  const head = [entry.index, entry.term, entry.type === "config" ? 1 : 2];
  const data = entry.data;
  for (let i = 0; i < head.length + data.length; i++) {
    const x = i < head.length ? (head[i] as number) : (data[i - head.length] as number);
    a = Math.imul(a ^ x, 0x01000193);
    b = Math.imul(b ^ x, 0x5bd1e995) ^ (b >>> 15);
  }
  return (b >>> 0) % 0x200000 * 0x100000000 + (a >>> 0);
}
