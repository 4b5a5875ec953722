// The state machine each simulated node applies committed entries to: one register per key with
// write and compare-and-swap (reads go through ReadIndex and never enter the log). It also follows
// the membership from committed config entries, so a snapshot carries the right ConfState, and a
// running hash of everything applied, so two nodes' states can be compared in O(1).
import type { ConfChange, ConfState, Entry, LogIndex, Snapshot, Term } from "../raft/raft.js";
import { applyConfChange, decodeConfChange, decodeConfChangeResult } from "../raft/raft.js";
import type { RegisterInput, RegisterOutput, RegisterValue } from "./linearizability/register-model.js";

/** What a client asked to be replicated. */
export interface KvCommand {
  readonly clientId: number;
  readonly opId: number;
  readonly input: RegisterInput;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a command as entry data. */
export function encodeCommand(cmd: KvCommand): Uint8Array {
  return encoder.encode(JSON.stringify(cmd));
}

/** Decodes entry data written by encodeCommand. */
export function decodeCommand(data: Uint8Array): KvCommand {
  return JSON.parse(decoder.decode(data)) as KvCommand;
}

/**
 * Decodes each command once per schedule: every simulated node applies the very same entry
 * objects (the simulated network passes them by reference).
 */
export class CommandCache {
  private readonly decoded = new WeakMap<Uint8Array, KvCommand>();

  /** The command in `data`. */
  decode(data: Uint8Array): KvCommand {
    let cmd = this.decoded.get(data);
    if (cmd === undefined) {
      cmd = decodeCommand(data);
      this.decoded.set(data, cmd);
    }
    return cmd;
  }
}

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

interface SnapshotBody {
  readonly values: [string, RegisterValue][];
  readonly chain: number;
}

/** The replicated register store of one node. */
export class KvMachine {
  private values = new Map<string, RegisterValue>();
  /** Index of the last applied entry (or of the restored snapshot). */
  appliedIndex: LogIndex = 0;
  /** Term of the last applied entry. */
  appliedTerm: Term = 0;
  /** Hash of every entry applied up to appliedIndex. */
  chain = 0;
  /** Membership as of appliedIndex. */
  conf: ConfState;

  constructor(conf: ConfState, private readonly commands: CommandCache) {
    this.conf = conf;
  }

  /** Reads a key. */
  get(key: string): RegisterValue {
    return this.values.get(key) ?? null;
  }

  /** Applies the next committed entry: the command and its result, or the config change. */
  apply(entry: Entry): {
    command: KvCommand | null;
    output: RegisterOutput | null;
    confChange: ConfChange | null;
  } {
    if (entry.index !== this.appliedIndex + 1) {
      throw new Error(`Cannot apply entry ${entry.index}: the state machine has applied up to ${this.appliedIndex}`);
    }
    this.appliedIndex = entry.index;
    this.appliedTerm = entry.term;
    this.chain = chainHash(this.chain, entry);
    if (entry.type === "config") {
      const cc = decodeConfChange(entry.data);
      this.conf = decodeConfChangeResult(entry.data) ?? applyConfChange(this.conf, cc);
      return { command: null, output: null, confChange: cc };
    }
    if (entry.data.length === 0) return { command: null, output: null, confChange: null };
    const command = this.commands.decode(entry.data);
    const input = command.input;
    const current = this.get(input.key);
    let output: RegisterOutput;
    if (input.kind === "write") {
      this.values.set(input.key, input.value);
      output = { kind: "write" };
    } else if (input.kind === "cas") {
      const ok = current === input.expected;
      if (ok) this.values.set(input.key, input.value);
      output = { kind: "cas", ok };
    } else {
      output = { kind: "read", value: current };
    }
    return { command, output, confChange: null };
  }

  /** A snapshot of the state at appliedIndex. */
  snapshot(): Snapshot {
    const body: SnapshotBody = { values: [...this.values.entries()].sort(([a], [b]) => (a < b ? -1 : 1)), chain: this.chain };
    return {
      meta: { index: this.appliedIndex, term: this.appliedTerm, confState: this.conf },
      data: encoder.encode(JSON.stringify(body)),
    };
  }

  /** Replaces the whole state by a snapshot's. */
  restore(snapshot: Snapshot): void {
    const body = JSON.parse(decoder.decode(snapshot.data)) as SnapshotBody;
    this.values = new Map(body.values);
    this.chain = body.chain;
    this.appliedIndex = snapshot.meta.index;
    this.appliedTerm = snapshot.meta.term;
    this.conf = snapshot.meta.confState;
  }
}
