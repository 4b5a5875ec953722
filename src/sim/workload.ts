// Simulated clients: each runs one register operation at a time against some node, follows
// leader hints and refusals (which prove the operation did not happen) and gives up on an
// operation when it times out (it may or may not have happened). Every operation goes into the
// history that the linearizability checker reads: a timed-out write or compare-and-swap with an
// unknown result and a return at infinity; a timed-out read is left out (it changed nothing).
import type { NodeId } from "../raft/types.js";
import { NO_NODE } from "../raft/types.js";
import type { Operation } from "./linearizability/model.js";
import type { RegisterInput, RegisterOutput, RegisterValue } from "./linearizability/register-model.js";
import type { ClientReply, ClientRequest } from "./protocol.js";
import type { Rng } from "./rng.js";

/** Most retries of one operation after refusals before the client gives it up. */
export const MAX_ATTEMPTS_PER_OP = 12;
/** Most operations one schedule records (bounds the linearizability check). */
export const MAX_HISTORY_OPS = 4000;

/** A recorded client operation. */
export type HistoryOp = Operation<RegisterInput, RegisterOutput>;

/** What the workload needs from the simulation. */
export interface WorkloadWorld {
  readonly rng: Rng;
  nowUs(): number;
  /** Delivers a request to a node (or bounces it at once when the node is down). */
  sendRequest(to: NodeId, req: ClientRequest): void;
  /** Calls `fn` after `delayUs`. */
  after(delayUs: number, fn: () => void): void;
  /** Node ids a client may try. */
  nodeIds(): readonly NodeId[];
  onAcknowledged(index: number, term: number): void;
  tracing: boolean;
  trace(line: string): void;
}

/** Shape of the client load, drawn per schedule. */
export interface WorkloadParams {
  readonly clients: number;
  readonly keys: readonly string[];
  readonly timeoutUs: number;
  readonly thinkMaxUs: number;
  readonly readFraction: number;
  readonly casFraction: number;
}

interface Current {
  readonly opId: number;
  readonly input: RegisterInput;
  readonly callUs: number;
  attempt: number;
  target: NodeId;
}

class Client {
  knownLeader: NodeId = NO_NODE;
  nextOpId = 1;
  current: Current | null = null;
  /** Operations acknowledged after the faults healed (liveness needs at least one write). */
  writesAfterHeal = 0;
  constructor(readonly id: number) {}
}

/** The clients of one schedule and the history they produce. */
export class Workload {
  readonly history: HistoryOp[] = [];
  private readonly clients: Client[];
  private stopped = false;
  private healedAtUs = Infinity;
  /** The last value each key was seen or written with, so compare-and-swap often succeeds. */
  private readonly lastSeen = new Map<string, RegisterValue>();
  acknowledged = 0;
  timedOut = 0;

  constructor(private readonly world: WorkloadWorld, private readonly params: WorkloadParams) {
    this.clients = Array.from({ length: params.clients }, (_, i) => new Client(i + 1));
  }

  /** Starts every client after a small random offset. */
  start(): void {
    for (const c of this.clients) this.world.after(this.world.rng.range(0, this.params.thinkMaxUs), () => this.next(c));
  }

  /** Faults healed: from now on a client stops after one acknowledged write. */
  markHealed(): void {
    this.healedAtUs = this.world.nowUs();
  }

  /** True when, since the heal, every client got a write acknowledged and has stopped. */
  get settled(): boolean {
    return this.clients.every((c) => c.writesAfterHeal > 0 && c.current === null);
  }

  /** Stops all clients (end of schedule). */
  stop(): void {
    this.stopped = true;
  }

  /** Clients still waiting for a write after the heal, for liveness reports. */
  describePending(): string {
    return this.clients.filter((c) => c.writesAfterHeal === 0 || c.current !== null)
      .map((c) => `client ${c.id}${c.current === null ? " idle" : ` op ${c.current.opId} attempt ${c.current.attempt} at n${c.current.target}`}`)
      .join(", ");
  }

  private next(c: Client): void {
    if (this.stopped || c.current !== null) return;
    if (c.writesAfterHeal > 0) return; // settled after heal
    if (this.history.length >= MAX_HISTORY_OPS) return;
    const rng = this.world.rng;
    const key = rng.pick(this.params.keys);
    const afterHeal = this.world.nowUs() >= this.healedAtUs;
    const r = rng.float();
    const opId = c.nextOpId++;
    const value = c.id * 1_000_000 + opId;
    let input: RegisterInput;
    if (!afterHeal && r < this.params.readFraction) input = { kind: "read", key };
    else if (!afterHeal && r < this.params.readFraction + this.params.casFraction) {
      const expected = rng.chance(0.8) ? this.lastSeen.get(key) ?? null : null;
      input = { kind: "cas", key, expected, value };
    } else input = { kind: "write", key, value };
    c.current = { opId, input, callUs: this.world.nowUs(), attempt: 0, target: NO_NODE };
    this.send(c);
    const current = c.current;
    this.world.after(this.params.timeoutUs, () => this.timeout(c, current));
  }

  private pickTarget(c: Client): NodeId {
    const rng = this.world.rng;
    if (c.knownLeader !== NO_NODE && rng.chance(0.85)) return c.knownLeader;
    return rng.pick(this.world.nodeIds());
  }

  private send(c: Client): void {
    const cur = c.current;
    if (cur === null) return;
    cur.attempt++;
    cur.target = this.pickTarget(c);
    this.world.sendRequest(cur.target, { clientId: c.id, opId: cur.opId, attempt: cur.attempt, input: cur.input });
  }

  /** A node answered. */
  onReply(reply: ClientReply): void {
    const c = this.clients[reply.clientId - 1];
    const cur = c?.current;
    if (c === undefined || cur === null || cur === undefined || cur.opId !== reply.opId || cur.attempt !== reply.attempt) return;
    const rng = this.world.rng;
    if (reply.kind === "unknown") {
      // The write may or may not apply: the client gives up on it as on a timeout (never retries).
      this.timeout(c, cur);
      return;
    }
    if (reply.kind === "refused") {
      // A refusal proves the node did not take the operation: retry it, elsewhere if hinted.
      c.knownLeader = reply.leaderHint;
      if (cur.attempt >= MAX_ATTEMPTS_PER_OP) {
        this.finish(c, null);
        return;
      }
      const backoffUs = reply.leaderHint !== NO_NODE ? rng.range(200, 2_000) : rng.range(5_000, 20_000);
      const attempt = cur.attempt;
      this.world.after(backoffUs, () => {
        if (c.current === cur && cur.attempt === attempt) this.send(c);
      });
      return;
    }
    c.knownLeader = reply.from;
    const output = reply.output;
    if (cur.input.kind !== "read") {
      this.world.onAcknowledged(reply.index, reply.term);
      if (this.world.nowUs() >= this.healedAtUs && cur.callUs >= this.healedAtUs) c.writesAfterHeal++;
    }
    if (output.kind === "read") this.lastSeen.set(cur.input.key, output.value);
    else if (cur.input.kind === "write" || (output.kind === "cas" && output.ok)) {
      this.lastSeen.set(cur.input.key, cur.input.kind === "read" ? null : cur.input.value);
    }
    this.acknowledged++;
    this.finish(c, { output, returnUs: this.world.nowUs() });
  }

  private timeout(c: Client, cur: Current): void {
    if (c.current !== cur) return;
    this.timedOut++;
    c.knownLeader = NO_NODE;
    if (cur.input.kind === "read") {
      this.finish(c, null);
      return;
    }
    this.history.push({ clientId: c.id, input: cur.input, output: null, callTime: cur.callUs, returnTime: Infinity });
    if (this.world.tracing) this.world.trace(`client ${c.id} op ${cur.opId} timed out`);
    c.current = null;
    this.scheduleNext(c);
  }

  // result null: the operation definitely did not happen (or was a read that timed out).
  private finish(c: Client, result: { output: RegisterOutput; returnUs: number } | null): void {
    const cur = c.current;
    if (cur === null) return;
    if (result !== null) {
      this.history.push({ clientId: c.id, input: cur.input, output: result.output, callTime: cur.callUs, returnTime: result.returnUs });
    }
    c.current = null;
    this.scheduleNext(c);
  }

  private scheduleNext(c: Client): void {
    this.world.after(this.world.rng.range(0, this.params.thinkMaxUs), () => this.next(c));
  }
}
