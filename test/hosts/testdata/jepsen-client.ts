// A Jepsen-style client worker that runs INSIDE a client namespace (`ip netns exec <c> node
// --import tsx jepsen-client.ts '<config JSON>'`): several clients, each with its own project SDK
// client (PhalanxClient: leader discovery, failover, retries only of what certainly did not happen),
// run reads, blind writes and compare-and-swaps on a few keys and append every operation to the
// history file as one JSON line (jepsen-history.ts: ok / fail / info, monotonic ms). Every written
// value is unique over the run (client id × 1e6 + sequence), so a read names its writer.
//
// stdin commands: "final" → stop the clients, then read every key (linearizably, retried until
// answered or FINAL_READ_DEADLINE_MS), record those reads, print `{"event":"done",...}` and exit.
// EOF → stop and exit. The `staleReads` mutation reads with `serializable` (the local copy of
// whichever node the client reaches): a planted bug the checker must catch.
import { appendFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { PhalanxClient } from "../../../src/client/client.js";
import { PhalanxError, isSafeToRetry } from "../../../src/client/errors.js";
import { seededRandom } from "../../../src/kv/testkit.js";
import type { RegisterInput, RegisterOutput, RegisterValue } from "../../../src/sim/linearizability/register-model.js";
import type { RecordedOp } from "../jepsen-history.js";

interface WorkerConfig {
  /** host:port of every node's client API; client k starts at endpoint k mod n. */
  readonly endpoints: readonly string[];
  readonly token: string;
  readonly keys: readonly string[];
  /** Client ids of this worker (unique over every worker of the run). */
  readonly clientIds: readonly number[];
  readonly seed: number;
  readonly historyFile: string;
  /** Per-request deadline of the SDK. */
  readonly timeoutMs: number;
  /** Pause between two operations of one client (keeps the history checkable). */
  readonly thinkMs: number;
  /** Mutation: serializable (possibly stale) reads. */
  readonly staleReads?: boolean;
  /** Only reads (the planted stale-read run: the cut-off client keeps reading all through the cut). */
  readonly readOnly?: boolean;
}

/** Longest the final reads may take (the cluster has healed by then). */
const FINAL_READ_DEADLINE_MS = 60_000;
/** SDK attempts per call: bounded so an operation ends within a few deadlines under a partition. */
const MAX_ATTEMPTS = 4;
/** Pause after a failed operation. */
const PAUSE_AFTER_FAILURE_MS = 50;

const config = JSON.parse(process.argv[2] ?? "{}") as WorkerConfig;
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const record = (op: RecordedOp): void => appendFileSync(config.historyFile, `${JSON.stringify(op)}\n`);

let running = true;
const counts = { ok: 0, fail: 0, info: 0 };

async function perform(client: PhalanxClient, input: RegisterInput): Promise<RegisterOutput> {
  if (input.kind === "read") {
    const v = (await client.get(input.key, config.staleReads === true ? { serializable: true } : {})).kvs[0]?.value;
    return { kind: "read", value: v === undefined ? null : Number(v) };
  }
  if (input.kind === "write") {
    await client.put(input.key, String(input.value));
    return { kind: "write" };
  }
  return { kind: "cas", ok: await client.compareAndSwap(input.key, input.expected === null ? null : String(input.expected), String(input.value)) };
}

/** Runs one operation and records it; returns the output when answered. */
async function run(clientId: number, client: PhalanxClient, input: RegisterInput): Promise<RegisterOutput | null> {
  const callMs = nowMs();
  try {
    const output = await perform(client, input);
    record({ client: clientId, input, type: "ok", output, callMs, returnMs: nowMs() });
    counts.ok++;
    return output;
  } catch (err) {
    const returnMs = nowMs();
    const code = err instanceof PhalanxError ? err.code : `exception ${(err as Error).name}`;
    // A read has no effect; a write refused before the log certainly did not happen; else unknown.
    const refused = input.kind === "read" || (err instanceof PhalanxError && isSafeToRetry(err));
    record({ client: clientId, input, type: refused ? "fail" : "info", code, callMs, returnMs });
    if (refused) counts.fail++;
    else counts.info++;
    return null;
  }
}

async function clientLoop(clientId: number): Promise<void> {
  const n = config.endpoints.length;
  const endpoints = config.endpoints.map((_, i) => config.endpoints[(i + clientId) % n]!);
  const client = new PhalanxClient({ endpoints, token: config.token, timeoutMs: config.timeoutMs, maxAttempts: MAX_ATTEMPTS });
  const random = seededRandom(config.seed * 1000 + clientId);
  const known = new Map<string, RegisterValue>();
  let seq = 0;
  try {
    while (running) {
      const key = config.keys[Math.floor(random() * config.keys.length)]!;
      const dice = random();
      const value = clientId * 1_000_000 + ++seq;
      // A key whose value is unknown (never read, or the last operation on it failed) gets a read or
      // a blind write: CAS needs an expected value, and writes must go on while operations fail.
      const input: RegisterInput = config.readOnly === true ? { kind: "read", key } : !known.has(key)
        ? dice < 0.5 ? { kind: "read", key } : { kind: "write", key, value }
        : dice < 0.3 ? { kind: "read", key } : dice < 0.85 ? { kind: "cas", key, expected: known.get(key) ?? null, value } : { kind: "write", key, value };
      const output = await run(clientId, client, input);
      if (output?.kind === "read") known.set(key, output.value);
      else if (input.kind !== "read" && (output?.kind === "write" || (output?.kind === "cas" && output.ok))) known.set(key, input.value);
      else known.delete(key);
      await sleep(output === null ? PAUSE_AFTER_FAILURE_MS : config.thinkMs);
    }
  } finally {
    await client.close();
  }
}

async function finalReads(): Promise<boolean> {
  const clientId = config.clientIds[0]! + 900;
  const client = new PhalanxClient({ endpoints: config.endpoints, token: config.token, timeoutMs: 2_000 });
  const until = nowMs() + FINAL_READ_DEADLINE_MS;
  try {
    for (const key of config.keys) {
      while ((await run(clientId, client, { kind: "read", key })) === null) {
        if (nowMs() > until) return false;
        await sleep(200);
      }
    }
    return true;
  } finally {
    await client.close();
  }
}

const loops = config.clientIds.map((id) => clientLoop(id));
let finishing = false;
const finish = async (withFinalReads: boolean): Promise<void> => {
  if (finishing) return;
  finishing = true;
  running = false;
  await Promise.all(loops);
  const finalOk = withFinalReads ? await finalReads() : false;
  process.stdout.write(`${JSON.stringify({ event: "done", finalReads: finalOk, ...counts })}\n`);
  process.exit(0);
};
createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim() === "final") void finish(true);
});
process.stdin.on("end", () => void finish(false));
process.stdout.write(`${JSON.stringify({ event: "ready", clients: config.clientIds.length })}\n`);
