// Readable one-line descriptions of Raft messages for the simulator's trace.
import type { Message } from "../raft/raft.js";

/** A short description of a message, e.g. "append t5 prev=10/4 n=2 commit=9". */
export function describeMessage(m: Message): string {
  switch (m.type) {
    case "append":
      return `append t${m.term} prev=${m.prevIndex}/${m.prevTerm} n=${m.entries.length} commit=${m.commit}`;
    case "appendResponse":
      return `appendResponse t${m.term} ${m.reject ? `reject index=${m.index} hint=${m.hintIndex}/${m.hintTerm}` : `ok index=${m.index}`}`;
    case "heartbeat":
      return `heartbeat t${m.term} commit=${m.commit}${m.context === "" ? "" : ` ctx=${m.context}`}`;
    case "heartbeatResponse":
      return `heartbeatResponse t${m.term}${m.context === "" ? "" : ` ctx=${m.context}`}`;
    case "vote":
    case "preVote":
      return `${m.type} t${m.term} last=${m.lastIndex}/${m.lastTerm}${m.transfer ? " transfer" : ""}`;
    case "voteResponse":
    case "preVoteResponse":
      return `${m.type} t${m.term} ${m.reject ? "reject" : "grant"}`;
    case "snapshot":
      return `snapshot t${m.term} at ${m.snapshot.meta.index}/${m.snapshot.meta.term}`;
    case "timeoutNow":
      return `timeoutNow t${m.term}`;
    case "readIndex":
      return `readIndex t${m.term} ctx=${m.context}`;
    case "readIndexResponse":
      return `readIndexResponse t${m.term} ctx=${m.context} index=${m.index}`;
  }
}

/** Formats virtual time in milliseconds with microsecond precision. */
export function formatTimeUs(timeUs: number): string {
  return `${(timeUs / 1000).toFixed(3).padStart(10)}ms`;
}
