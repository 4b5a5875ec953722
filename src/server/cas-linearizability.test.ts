// Real processes (issue 9, item 9): clients run compare-and-swaps, blind puts and reads through the
// SDK (with its own retries) while a nemesis alternately stops (SIGTERM) and kills (kill -9) the
// current leader and restarts it. The recorded history is checked with the project's
// linearizability checker, and the store's own history of every key (a watch from revision 1) is
// checked directly: every value is written by one operation, so a value applied twice, an
// acknowledged write missing, or a write that was answered "refused" (or "compare failed") but
// applied anyway each show up by name.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PhalanxClient } from "../client/client.js";
import type { WatchChange } from "../client/client.js";
import { checkLinearizable } from "../sim/linearizability/checker.js";
import { describeRegisterOp, registerModel } from "../sim/linearizability/register-model.js";
import type { RegisterValue } from "../sim/linearizability/register-model.js";
import { ProcessCluster } from "../testing/process-cluster.js";
import { performRegisterOp, startRegisterWorkload } from "../testing/register-workload.js";
import type { RegisterOp } from "../testing/register-workload.js";
import { waitUntil as waitFor } from "../testing/wait.js";

const KEYS = ["cas/a", "cas/b", "cas/c"];
const CLIENTS = 4;
/** How long the nemesis keeps stopping and killing leaders. */
const NEMESIS_MS = 20_000;
/** Load between two faults, so every leader serves some writes before it goes. */
const LOAD_BETWEEN_FAULTS_MS = 1_500;
/** Longest a SIGTERMed node may take to exit (a clean stop closes storage and sockets). */
const STOP_DEADLINE_MS = 15_000;
const END_MARKER_KEY = "cas/~end";

/**
 * Codes that prove a request never reached the Raft log (issue 9's outcome semantics). "stopped"
 * is deliberately absent: a stopping node may hold the entry, and the next leader may commit it.
 */
const REFUSED_BEFORE_LOG = new Set(["not_leader", "no_leader", "overloaded", "config_change_pending", "read_timeout", "proposal_dropped", "unavailable_before_send"]);

/** A write the client was told did not happen: it must not be in the store's history. */
interface RefusedWrite {
  readonly key: string;
  readonly value: number;
  readonly code: string;
}

interface Workload {
  stop(): Promise<{ history: RegisterOp[]; refused: RefusedWrite[]; outcomes: Map<string, number> }>;
  acknowledged(): number;
  /** The clock of the recorded history (ms since the workload started). */
  now(): number;
}

/** Runs the clients until stop(); each records its operations with call and return times. */
function startWorkload(cluster: ProcessCluster, seed: number): Workload {
  const refused: RefusedWrite[] = [];
  const outcomes = new Map<string, number>();
  const count = (what: string): void => void outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
  /** What each client last learned of each key (its compare-and-swaps expect that). */
  const known = new Map<number, Map<string, RegisterValue>>();
  const knownBy = (clientId: number): Map<string, RegisterValue> => {
    const mine = known.get(clientId) ?? new Map<string, RegisterValue>();
    known.set(clientId, mine);
    return mine;
  };
  const all = cluster.endpoints();
  const load = startRegisterWorkload({
    clients: CLIENTS,
    seed,
    // The SDK's own failover and retries are part of what is tested: it may only resend a write
    // that was refused before the log. Each client starts on a different node, so some talk to the
    // leader directly and see it stop.
    client: (clientId) => new PhalanxClient({ endpoints: all.map((_, i) => all[(i + clientId) % all.length]!), token: cluster.token, timeoutMs: 2000 }),
    next(random, clientId, nextValue) {
      const mine = knownBy(clientId);
      const key = KEYS[Math.floor(random() * KEYS.length)]!;
      const dice = random();
      if (!mine.has(key) || dice < 0.25) return { kind: "read", key };
      return dice < 0.85 ? { kind: "cas", key, expected: mine.get(key) ?? null, value: nextValue() } : { kind: "write", key, value: nextValue() };
    },
    answered({ clientId, input, output }) {
      const mine = knownBy(clientId);
      if (output?.kind === "read") mine.set(input.key, output.value);
      else if (input.kind !== "read" && (output?.kind === "write" || (output?.kind === "cas" && output.ok))) mine.set(input.key, input.value);
      else mine.delete(input.key);
      count(output?.kind === "cas" ? `cas answered ${output.ok ? "swapped" : "compare failed"}` : `${input.kind} ok`);
    },
    failed(err, input, _client, clientId) {
      knownBy(clientId).delete(input.key);
      if (REFUSED_BEFORE_LOG.has(err.code)) {
        // Did not happen: left out of the history, and checked against the store below.
        count(`${input.kind} refused (${err.code})`);
        if (input.kind !== "read") refused.push({ key: input.key, value: input.value, code: err.code });
        return "refused";
      }
      // May or may not have happened: open-ended (the workload records only writes so).
      count(`${input.kind} unknown (${err.code})`);
      return "unknown";
    },
  });
  return {
    async stop() {
      return { history: await load.stop(), refused, outcomes };
    },
    acknowledged: () => load.acknowledgedWrites(),
    now: load.now,
  };
}

/** True once node `id`'s process is gone (signal 0 probes a pid without touching it). */
function exited(cluster: ProcessCluster, id: number): boolean {
  try {
    cluster.signal(id, 0 as unknown as NodeJS.Signals);
    return false;
  } catch {
    return true;
  }
}

/** Alternately SIGTERMs and kill -9s the leader, restarting it each time, until `untilMs` passes. */
async function runNemesis(cluster: ProcessCluster, load: Workload, untilMs: number, log: (line: string) => void): Promise<number> {
  const all = [1, 2, 3];
  const start = Date.now();
  let faults = 0;
  while (Date.now() - start < untilMs) {
    const before = load.acknowledged();
    await waitFor("writes under the current leader", () => load.acknowledged() >= before + 5);
    await new Promise((r) => setTimeout(r, LOAD_BETWEEN_FAULTS_MS));
    const leader = await cluster.leader(30_000);
    const graceful = faults % 2 === 0;
    if (graceful) {
      cluster.signal(leader, "SIGTERM");
      await waitFor(`node ${leader} to exit after SIGTERM`, () => exited(cluster, leader), STOP_DEADLINE_MS);
    }
    await cluster.kill(leader); // after SIGTERM this only records the exit
    faults++;
    const survivors = all.filter((id) => id !== leader);
    const next = await cluster.leader(30_000, survivors);
    log(`fault ${faults}: ${graceful ? "SIGTERM" : "kill -9"} of leader ${leader}; node ${next} leads`);
    await cluster.restart(leader);
  }
  return faults;
}

/** Every put under `prefix` in the store's history, in revision order, through a watch from revision 1. */
async function storeHistory(client: PhalanxClient, prefix: string, endKey: string): Promise<WatchChange[]> {
  const changes: WatchChange[] = [];
  let failure: Error | null = null;
  const w = client.watch(prefix, { prefix: true, fromRevision: 1 }, (batch) => changes.push(...batch), (err) => (failure = err));
  try {
    await waitFor("the store's history up to the end marker", () => {
      if (failure !== null) throw failure;
      return changes.some((c) => c.kv.key === endKey);
    });
  } finally {
    w.stop();
  }
  return changes.filter((c) => c.kv.key !== endKey);
}

test("CAS under SIGTERM and kill -9 of leaders: the history is linearizable, no write applied twice, none acknowledged and lost", async (t) => {
  const cluster = await ProcessCluster.start(3);
  const load = startWorkload(cluster, 9);
  let loadStopped = false;
  t.after(async () => {
    if (!loadStopped) await load.stop().catch(() => undefined);
    await cluster.close();
  });

  const faults = await runNemesis(cluster, load, NEMESIS_MS, (line) => t.diagnostic(line));
  await cluster.leader(30_000);
  const before = load.acknowledged();
  await waitFor("writes after the last restart", () => load.acknowledged() >= before + 5);
  loadStopped = true;
  const { history, refused, outcomes } = await load.stop();

  const client = cluster.client({ timeoutMs: 5000 });
  t.after(() => client.close());
  // A final read of every key, after every client stopped: a lost acknowledged write shows here.
  for (const key of KEYS) {
    const callTime = load.now();
    const output = await performRegisterOp(client, { kind: "read", key });
    history.push({ clientId: 0, input: { kind: "read", key }, output, callTime, returnTime: load.now() });
  }
  await client.put(END_MARKER_KEY, "end");
  const puts = (await storeHistory(client, "cas/", END_MARKER_KEY)).filter((c) => c.type === "put");

  t.diagnostic(`${faults} faults; ${history.length} operations recorded; ${puts.length} puts in the store; outcomes ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}`);
  assert.ok(faults >= 2, "the nemesis both stopped and killed a leader");

  // No value is applied twice (each is written by exactly one operation).
  const appliedAt = new Map<number, number[]>();
  for (const c of puts) {
    const v = Number(c.kv.value);
    appliedAt.set(v, [...(appliedAt.get(v) ?? []), c.kv.modRevision]);
  }
  const twice = [...appliedAt].filter(([, revs]) => revs.length > 1);
  assert.deepEqual(twice, [], `values applied more than once (value, revisions): ${JSON.stringify(twice)}`);

  // Every acknowledged write is in the store's history; no write answered "compare failed" or
  // "refused before the log" is.
  const stored = new Set(appliedAt.keys());
  const writes = history.filter((o) => o.input.kind !== "read" && o.output !== null);
  const lost = writes.filter((o) => (o.output!.kind === "write" || (o.output!.kind === "cas" && o.output!.ok)) && !stored.has((o.input as { value: number }).value));
  assert.deepEqual(lost.map((o) => describeRegisterOp(o.input, o.output)), [], "acknowledged writes missing from the store");
  const failedButApplied = writes.filter((o) => o.output!.kind === "cas" && !o.output!.ok && stored.has((o.input as { value: number }).value));
  assert.deepEqual(failedButApplied.map((o) => describeRegisterOp(o.input, o.output)), [], "compare-and-swaps answered 'compare failed' whose value was applied (a resent write?)");
  const refusedButApplied = refused.filter((r) => stored.has(r.value));
  assert.deepEqual(refusedButApplied, [], "writes answered with a retryable refusal that were applied anyway");

  const verdict = checkLinearizable(registerModel, history);
  assert.equal(verdict.verdict, "ok", `history not linearizable on key ${verdict.key}; blocked at ${verdict.blocking ? describeRegisterOp(verdict.blocking.input, verdict.blocking.output) : "?"}`);
});
