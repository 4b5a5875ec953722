// Steady load for the replace benchmark: `concurrency` keep-alive clients in a loop, each request
// with a deadline. Every outcome is kept with its time, so failures can be counted per kill.
import { Agent, request } from "node:http";

/** A request that takes longer than this counts as failed. */
export const REQUEST_TIMEOUT_MS = 5_000;
/** Bound on outcomes kept (a long run keeps only failures beyond it). */
const MAX_KEPT = 2_000_000;

/**
 * Starts `rps` requests per second against http://host:port/. Returns { stop(), failures(fromMs, toMs), total() };
 * failures are non-200 answers and errors (reset, refused, timeout), by completion time.
 */
export function startLoad({ host, port, concurrency, rps }) {
  // Paced: each client starts a request every `gapMs`, so the load is the same for both halves and
  // leaves the CPU to the systems under test.
  const gapMs = (concurrency * 1000) / rps;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const failures = [];
  let total = 0;
  let running = true;
  const one = () => new Promise((resolve) => {
    const req = request({ host, port, path: "/", agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode === 200 ? null : `status ${res.statusCode}`));
      res.on("error", (err) => resolve(err.message));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve(err.message));
    req.end();
  });
  const worker = async (index) => {
    let next = Date.now() + (index * gapMs) / concurrency;
    while (running) {
      const wait = next - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      next = Math.max(next + gapMs, Date.now() - gapMs);
      const error = await one();
      total += 1;
      if (error !== null && failures.length < MAX_KEPT) failures.push({ atMs: Date.now(), error });
    }
  };
  const workers = Array.from({ length: concurrency }, (_, i) => worker(i));
  return {
    total: () => total,
    failuresBetween: (fromMs, toMs) => failures.filter((f) => f.atMs >= fromMs && f.atMs < toMs),
    async stop() {
      running = false;
      await Promise.all(workers);
      agent.destroy();
    },
  };
}

/** Failures by message ("status 502": 3, "socket hang up": 1). */
export function countKinds(failures) {
  const kinds = {};
  for (const f of failures) kinds[f.error] = (kinds[f.error] ?? 0) + 1;
  return kinds;
}
