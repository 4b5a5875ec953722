// Leader failover as a client sees it: one writer does puts back to back with a short per-request
// deadline, moving to the next node at once on any failure; the leader is killed with SIGKILL and the
// longest gap between two successful writes around the kill is the figure. Any node takes writes
// (Phalanx followers forward to the leader, etcd followers forward proposals), so the writer treats
// both systems alike.

/** Per-request deadline of the writer. */
const REQUEST_DEADLINE_MS = 300;
/** How long the writer runs before the kill (a steady state) and at least after the first write that follows it. */
const SETTLE_MS = 1_000;
/** Longest a failover may take before the run gives up. */
const FAILOVER_DEADLINE_MS = 30_000;

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

class Writer {
  constructor(cluster) {
    this.cluster = cluster;
    this.successAtMs = [];
    this.stopped = false;
    this.next = 0;
    this.n = 0;
  }

  async run() {
    const { endpoints, headers } = this.cluster;
    while (!this.stopped) {
      const endpoint = endpoints[this.next];
      const body = JSON.stringify({ key: Buffer.from(`failover/${this.n++ % 100}`).toString("base64"), value: Buffer.from(String(this.n)).toString("base64") });
      try {
        const r = await fetch(`http://${endpoint}/v3/kv/put`, { method: "POST", body, headers, signal: AbortSignal.timeout(REQUEST_DEADLINE_MS) });
        await r.arrayBuffer();
        if (r.status === 200) {
          this.successAtMs.push(performance.now());
          continue;
        }
      } catch {
        // deadline or connection refused: try the next node at once
      }
      this.next = (this.next + 1) % endpoints.length;
    }
  }
}

/** True when successes covered the last `windowMs` before `now` with no gap longer than a request deadline. */
function steadySince(successAtMs, now, windowMs) {
  let t = now;
  for (let i = successAtMs.length - 1; i >= 0; i--) {
    if (t - successAtMs[i] > REQUEST_DEADLINE_MS) return false;
    t = successAtMs[i];
    if (now - t >= windowMs) return true;
  }
  return false;
}

/** One kill: returns the longest gap (ms) between successful writes from just before the kill to recovery. */
async function oneKill(cluster) {
  const writer = new Writer(cluster);
  const running = writer.run();
  try {
    await sleep(SETTLE_MS);
    const { leaderIndex, key } = await cluster.leader();
    const before = writer.successAtMs.length;
    if (before === 0) throw new Error(`Cannot measure ${cluster.name} failover: no write succeeded before the kill`);
    const killAtMs = performance.now();
    await cluster.kill(leaderIndex);
    // Done once writes have flowed steadily for SETTLE_MS after the kill: a lone success right after
    // the kill may be a reply already on its way from the dead leader, not a recovery.
    const deadline = killAtMs + FAILOVER_DEADLINE_MS;
    for (;;) {
      const now = performance.now();
      if (now > deadline) throw new Error(`Cannot measure ${cluster.name} failover: writes not steady ${FAILOVER_DEADLINE_MS} ms after the kill`);
      if (now - killAtMs >= SETTLE_MS && steadySince(writer.successAtMs, now, SETTLE_MS)) break;
      await sleep(20);
    }
    const times = writer.successAtMs.slice(before - 1);
    let gap = 0;
    for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);
    if (process.env.KV_BENCH_DEBUG) process.stderr.write(`DEBUG kill at ${killAtMs.toFixed(0)} successes ${JSON.stringify(times.slice(0, 12).map((t) => Math.round(t - killAtMs)))}\n`);
    const after = await cluster.leader();
    return { gapMs: gap, killed: leaderIndex, before: key, after: after.key };
  } finally {
    writer.stopped = true;
    await running;
  }
}

/** `kills` failovers on `cluster`; the killed node is restarted and healthy before the next one. */
export async function measureFailover(cluster, kills, log) {
  const gaps = [];
  for (let k = 0; k < kills; k++) {
    const { gapMs, killed, before, after } = await oneKill(cluster);
    gaps.push(gapMs);
    log(`  ${cluster.name} kill ${k + 1}/${kills}: leader node ${killed + 1} (${before} -> ${after}), longest write gap ${gapMs.toFixed(0)} ms`);
    await cluster.restart(killed);
    await cluster.leader();
    await sleep(SETTLE_MS); // let the restarted node catch up before the next kill
  }
  return gaps;
}
