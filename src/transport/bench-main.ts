// Throughput of one loopback mTLS peer connection: a stream of append messages carrying 100-byte
// entries from node 1 to node 2, both in this process (so one core does both ends' work).
// Run: npx tsx src/transport/bench-main.ts [--seconds 5] [--entries-per-message 1]
// Prints one line per configuration and a last line of JSON.
import { pino } from "pino";
import { createClusterCa } from "../pki/ca.js";
import { issueNodeCertificate } from "../pki/issue.js";
import type { Entry, Message, NodeId } from "../raft/types.js";
import { encodedFrameBytes } from "./codec.js";
import { createTlsTransport, type TlsTransport } from "./tls-transport.js";

const ENTRY_BYTES = 100;
/** Keep the sender's queue at most this full, so the benchmark measures throughput, not drops. */
const QUEUE_HIGH_WATER_MESSAGES = 2048;
const QUEUE_HIGH_WATER_BYTES = 4 * 1024 * 1024;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function start(id: number, ca: Awaited<ReturnType<typeof createClusterCa>>): Promise<TlsTransport> {
  const node = await issueNodeCertificate(ca, { nodeId: id, ips: ["127.0.0.1"] });
  return createTlsTransport({
    nodeId: id as NodeId,
    clusterId: ca.clusterId,
    credentials: { caCertPem: ca.certPem, certPem: node.certPem, keyPem: node.keyPem },
    listenHost: "127.0.0.1",
    listenPort: 0,
    logger: pino({ level: "warn" }),
  });
}

interface Result {
  readonly entriesPerMessage: number;
  readonly messagesPerSec: number;
  readonly entriesPerSec: number;
  readonly mbPerSec: number;
  readonly payloadMbPerSec: number;
  readonly dropped: number;
  /** CPU seconds used per wall second (1.0 = one core busy): the run is CPU-bound when near 1. */
  readonly cpuCores: number;
  /** Messages per CPU-second: the figure that does not depend on other load on the machine. */
  readonly messagesPerCpuSec: number;
}

async function run(entriesPerMessage: number, seconds: number): Promise<Result> {
  const ca = await createClusterCa({ clusterId: "bench" });
  const a = await start(1, ca);
  const b = await start(2, ca);
  const data = new Uint8Array(ENTRY_BYTES).fill(42);
  let received = 0;
  let receivedEntries = 0;
  b.onMessage((m) => {
    received++;
    if (m.type === "append") receivedEntries += m.entries.length;
  });
  a.addPeer(2 as NodeId, b.address());
  let index = 0;
  const makeAppend = (): Message => {
    const entries: Entry[] = [];
    for (let i = 0; i < entriesPerMessage; i++) entries.push({ term: 1, index: index + 1 + i, type: "normal", data });
    const m: Message = { type: "append", from: 1 as NodeId, to: 2 as NodeId, term: 1, prevIndex: index, prevTerm: 1, entries, commit: index };
    index += entriesPerMessage;
    return m;
  };
  const frameBytes = encodedFrameBytes(makeAppend());
  // Warm up: connect and let the JIT settle.
  const warm = Date.now() + 1000;
  let stopAt = Infinity;
  let t0 = 0;
  let r0 = 0;
  let e0 = 0;
  let cpu0 = process.cpuUsage();
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      const now = Date.now();
      if (t0 === 0 && now >= warm) {
        t0 = performance.now();
        r0 = received;
        e0 = receivedEntries;
        cpu0 = process.cpuUsage();
        stopAt = now + seconds * 1000;
      }
      if (now >= stopAt) return resolve();
      const peer = a.stats().peers[0];
      const room = Math.min(
        QUEUE_HIGH_WATER_MESSAGES - (peer?.queuedMessages ?? 0),
        Math.floor((QUEUE_HIGH_WATER_BYTES - (peer?.queuedBytes ?? 0)) / frameBytes),
      );
      const batch: Message[] = [];
      for (let i = 0; i < room; i++) batch.push(makeAppend());
      a.send(batch);
      setImmediate(pump);
    };
    pump();
  });
  const elapsedS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const messages = received - r0;
  const dropped = a.stats().droppedMessages;
  await a.close();
  await b.close();
  return {
    entriesPerMessage,
    messagesPerSec: Math.round(messages / elapsedS),
    entriesPerSec: Math.round((receivedEntries - e0) / elapsedS),
    mbPerSec: Number(((messages * frameBytes) / elapsedS / 1e6).toFixed(1)),
    payloadMbPerSec: Number(((messages * entriesPerMessage * ENTRY_BYTES) / elapsedS / 1e6).toFixed(1)),
    dropped,
    cpuCores: Number((cpuS / elapsedS).toFixed(2)),
    messagesPerCpuSec: Math.round(messages / cpuS),
  };
}

const seconds = arg("seconds", 5);
const configs = process.argv.includes("--entries-per-message") ? [arg("entries-per-message", 1)] : [1, 16, 128];
const results: Result[] = [];
for (const n of configs) {
  const r = await run(n, seconds);
  results.push(r);
  console.log(`entries/msg=${String(n).padStart(3)}  ${String(r.messagesPerSec).padStart(8)} msg/s  ${String(r.entriesPerSec).padStart(9)} entries/s  ${String(r.mbPerSec).padStart(6)} MB/s on the wire  ${String(r.payloadMbPerSec).padStart(6)} MB/s of entry data  ${String(r.messagesPerCpuSec).padStart(8)} msg/CPU-s  cpu=${r.cpuCores}  dropped=${r.dropped}`);
}
console.log(JSON.stringify({ entryBytes: ENTRY_BYTES, seconds, results }));
