// The membership history of the log. A configuration takes effect as soon as its entry is
// appended, committed or not (Raft thesis §4.1), so the membership in force is the one of the last
// config entry in the log, and it rolls back when that entry is truncated by a new leader.
import type { ConfState, LogIndex } from "./types.js";
import { assert } from "./assert.js";
import { normalizeConfState } from "./confchange.js";

interface ConfAt {
  readonly index: LogIndex;
  readonly conf: ConfState;
}

/** Membership at the log's base (snapshot or bootstrap) plus one record per config entry after it. */
export class MembershipLog {
  private base: ConfAt;
  private readonly changes: ConfAt[] = [];

  constructor(baseIndex: LogIndex, baseConf: ConfState) {
    this.base = { index: baseIndex, conf: normalizeConfState(baseConf) };
  }

  /** The membership in force: the latest config entry's, or the base's. */
  current(): ConfState {
    return (this.changes[this.changes.length - 1] ?? this.base).conf;
  }

  /** Index of the latest config entry in the log (0 when there is none after the base). */
  lastChangeIndex(): LogIndex {
    return this.changes[this.changes.length - 1]?.index ?? 0;
  }

  /** Number of config entries in the log after the base. */
  changeCount(): number {
    return this.changes.length;
  }

  /** The membership in force once the log ends at `index`. */
  confAt(index: LogIndex): ConfState {
    assert(index >= this.base.index, `Cannot read membership at ${index}: log is compacted up to ${this.base.index}`);
    let conf = this.base.conf;
    for (const c of this.changes) {
      if (c.index > index) break;
      conf = c.conf;
    }
    return conf;
  }

  /** Records a config entry appended at `index`. */
  append(index: LogIndex, conf: ConfState): void {
    const last = this.changes[this.changes.length - 1]?.index ?? this.base.index;
    assert(index > last, `Cannot record config entry ${index}: not after ${last}`);
    this.changes.push({ index, conf: normalizeConfState(conf) });
  }

  /** Rolls back config entries at `index` and after (the log was truncated there). True when anything changed. */
  truncateFrom(index: LogIndex): boolean {
    assert(index > this.base.index, `Cannot truncate membership at ${index}: base is at ${this.base.index}`);
    let changed = false;
    while ((this.changes[this.changes.length - 1]?.index ?? 0) >= index) {
      this.changes.pop();
      changed = true;
    }
    return changed;
  }

  /** Moves the base to `index` (the log was compacted up to it). */
  compactTo(index: LogIndex): void {
    const conf = this.confAt(index);
    while ((this.changes[0]?.index ?? Infinity) <= index) this.changes.shift();
    this.base = { index, conf };
  }

  /** Replaces the whole history with a snapshot's membership. */
  reset(index: LogIndex, conf: ConfState): void {
    this.changes.length = 0;
    this.base = { index, conf: normalizeConfState(conf) };
  }
}
