// `npm run build && node bench/sessions/sweep-cost.mjs [keys]`: the expiry sweeper's cost on a
// 1-node in-process store holding `keys` front keys (default 100,000, no expiry): wall time of each
// of three sweeps, the event loop's longest stall and p99 while it runs (monitorEventLoopDelay), and
// the index entries and keys the sweeper read. The first sweep includes the one full paged scan.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const DIST = fileURLToPath(new URL("../../dist/", import.meta.url));
const { LocalCluster } = await import(join(DIST, "server/testing.js"));
const { encodeEntry, frontPrefix, storeKeyOf } = await import(join(DIST, "fronts/codec/store-format.js"));
const { ReplicaFrontStore } = await import(join(DIST, "fronts/runtime/front-store.js"));
const { ExpirySweeper } = await import(join(DIST, "fronts/runtime/sweeper.js"));
const { FrontUsage } = await import(join(DIST, "fronts/runtime/usage.js"));

const N = Number(process.argv[2] ?? 100_000);
const enc = new TextEncoder();
const cluster = await LocalCluster.start(1);
try {
  const r = await cluster.waitForLeader();
  const value = encodeEntry({ type: "string", value: enc.encode("xxx"), flags: 0, expireAtMs: 0 });
  for (let i = 0; i < N; i += 128) {
    const success = [];
    for (let j = i; j < Math.min(N, i + 128); j++) success.push({ type: "put", key: storeKeyOf(frontPrefix("redis", 0), enc.encode(`key:${String(j).padStart(12, "0")}`)), value });
    await r.propose({ type: "txn", compares: [], success, failure: [] });
  }
  const usage = new FrontUsage({ maxKeys: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER });
  const sweeper = new ExpirySweeper({ store: new ReplicaFrontStore(r, null), usage, nowMs: () => Date.now(), intervalMs: 1000 });
  const h = monitorEventLoopDelay({ resolution: 1 });
  for (let k = 0; k < 3; k++) {
    h.reset();
    h.enable();
    const started = performance.now();
    await sweeper.sweepOnce();
    const ms = performance.now() - started;
    h.disable();
    console.log(`sweep ${k}: ${ms.toFixed(1)} ms, event-loop delay max ${(h.max / 1e6).toFixed(1)} ms p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms, keys counted ${usage.keys}, index entries touched ${sweeper.entriesTouched}, keys scanned ${sweeper.entriesScanned}`);
  }
  sweeper.stop();
} finally {
  await cluster.close();
}
