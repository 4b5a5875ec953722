// Micro-benchmark of the WAL hot path: save() of one small entry + hard state per call, at
// several concurrencies, against a bare write+fdatasync loop on the same disk. Run:
//   node --import tsx src/storage/bench.ts [dir]
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStorage } from "./storage.js";
import { entry, hard } from "./testing.js";

const DURATION_MS = 2000;
const VALUE_BYTES = 100;

async function bareFsync(dir: string): Promise<number> {
  const handle = await open(join(dir, "bare"), "w");
  const buf = Buffer.alloc(VALUE_BYTES + 60, 1);
  let n = 0;
  let pos = 0;
  const end = performance.now() + DURATION_MS;
  while (performance.now() < end) {
    await handle.write(buf, 0, buf.length, pos);
    pos += buf.length;
    await handle.datasync();
    n++;
  }
  await handle.close();
  return (n * 1000) / DURATION_MS;
}

async function saves(dir: string, concurrency: number): Promise<{ perSec: number; fsyncsPerSec: number; p99Ms: number }> {
  const { storage } = await openStorage(join(dir, `c${concurrency}`));
  let index = 0;
  let done = 0;
  const latencies: number[] = [];
  const end = performance.now() + DURATION_MS;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      index++;
      const start = performance.now();
      await storage.save({ entries: [entry(index, 1, "v".repeat(VALUE_BYTES))], hardState: hard(1, 1, index - 1) });
      latencies.push(performance.now() - start);
      done++;
    }
  };
  const fsyncsBefore = storage.stats().fsyncs;
  await Promise.all(Array.from({ length: concurrency }, worker));
  const fsyncs = storage.stats().fsyncs - fsyncsBefore;
  await storage.close();
  latencies.sort((a, b) => a - b);
  return {
    perSec: Math.round((done * 1000) / DURATION_MS),
    fsyncsPerSec: Math.round((fsyncs * 1000) / DURATION_MS),
    p99Ms: Number((latencies[Math.floor(latencies.length * 0.99)] ?? 0).toFixed(2)),
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(process.argv[2] ?? tmpdir(), "phalanx-wal-bench-"));
  try {
    console.log(`bare write+fdatasync: ${Math.round(await bareFsync(dir))}/s`);
    for (const c of [1, 16, 64, 256]) console.log(`save() c${c}:`, await saves(dir, c));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
