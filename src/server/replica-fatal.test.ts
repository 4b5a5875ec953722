// A broken invariant in a node ends it: the core reports it, the replica's shell logs one fatal line
// and exits with EXIT_INVARIANT_BROKEN (a real child process shows the exit code); /healthz's source,
// Replica.health(), turns unhealthy at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { nodeId } from "../raft/raft.js";
import type { Message } from "../raft/raft.js";
import { openStorage } from "../storage/storage.js";
import type { MessageHandler, Transport } from "../transport/types.js";
import { EXIT_INVARIANT_BROKEN, Replica } from "./replica.js";
import { pollUntil } from "./testing.js";

const N1 = nodeId(1);
/** A heartbeat addressed to another node: stepping it breaks Raft's first invariant. */
const MISADDRESSED: Message = { type: "heartbeat", from: nodeId(2), to: nodeId(3), term: 1, commit: 0, context: "" };

/** A transport that only hands the test the replica's message handler. */
function capturingTransport(): Transport & { deliver(m: Message): void } {
  let handler: MessageHandler = () => undefined;
  return {
    send: () => undefined,
    onMessage: (h) => {
      handler = h;
    },
    addPeer: () => undefined,
    removePeer: () => undefined,
    stats: () => ({ receivedMessages: 0, droppedMessages: 0, peers: [] }),
    close: async () => undefined,
    deliver: (m) => handler(m),
  };
}

test("a RaftInvariantError from step() reaches onFatal, fails the replica and makes it unhealthy", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-fatal-"));
  const { storage, restored } = await openStorage(dir, { bootstrap: { voters: [N1], learners: [] } });
  t.after(async () => {
    await storage.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  const transport = capturingTransport();
  const fatal: unknown[] = [];
  const replica = new Replica({ id: N1, storage, restored, transport, logger: pino({ level: "silent" }), tuning: { tickMs: 10 }, onFatal: (err) => fatal.push(err) });
  replica.start();
  t.after(() => replica.stop());
  await pollUntil(() => (replica.health().healthy ? true : undefined), 5000, "the single voter to lead");
  transport.deliver(MISADDRESSED);
  assert.equal(fatal.length, 1);
  assert.equal((fatal[0] as Error).name, "RaftInvariantError");
  const h = replica.health();
  assert.equal(h.healthy, false);
  assert.equal(h.state, "failed");
});

test("by default a broken invariant logs a fatal line and exits the process with code 70", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-fatal-proc-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
  const script = join(dir, "node.mts"); // .mts: an ES module wherever the temp dir is
  await writeFile(script, `
    import { pino } from ${JSON.stringify(import.meta.resolve("pino"))};
    import { Replica } from ${JSON.stringify(here("./replica.ts"))};
    import { openStorage } from ${JSON.stringify(here("../storage/storage.ts"))};
    const { storage, restored } = await openStorage(${JSON.stringify(join(dir, "data"))}, { bootstrap: { voters: [1], learners: [] } });
    let handler = () => undefined;
    const transport = { send() {}, onMessage(h) { handler = h; }, addPeer() {}, removePeer() {}, stats() { return { receivedMessages: 0, droppedMessages: 0, peers: [] }; }, async close() {} };
    const replica = new Replica({ id: 1, storage, restored, transport, logger: pino(), tuning: { tickMs: 10 } });
    replica.start();
    setTimeout(() => handler(${JSON.stringify(MISADDRESSED)}), 50);
    setTimeout(() => process.exit(0), 10_000);
  `);
  const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: here("../.."), stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => child.kill("SIGKILL"));
  let output = "";
  child.stdout.on("data", (b: Buffer) => (output += b.toString()));
  child.stderr.on("data", (b: Buffer) => (output += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  assert.equal(code, EXIT_INVARIANT_BROKEN, output);
  assert.match(output, /"level":60/);
  assert.match(output, /stopped on a broken invariant/);
});
