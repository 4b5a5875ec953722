// wrk runs for the benchmarks: a Lua done() hook prints one JSON line with exact counts and
// microsecond percentiles (instead of wrk's rounded text), and runWrkJson() reads it back.
import { spawn } from "node:child_process";

const MARKER = "WRK_JSON ";

/** The Lua done() hook to end every wrk script with. */
export const DONE_HOOK = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '${MARKER}{"requests":%d,"bytes":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"errors":%d,"non2xx":%d}\\n',
    summary.requests, summary.bytes, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
`;

/**
 * Runs `command args` (wrk itself, or wrk through taskset) and resolves with the done() hook's
 * figures: { requests, bytes, seconds, rps, p50Ms, p99Ms, errors, non2xx }.
 */
export function runWrkJson(command, args, url) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.stderr.on("data", (chunk) => (out += chunk));
    child.on("error", reject);
    child.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith(MARKER));
      if (code !== 0 || line === undefined) {
        reject(new Error(`Cannot read wrk's result for ${url}: exit ${code}, output:\n${out}`));
        return;
      }
      const r = JSON.parse(line.slice(MARKER.length));
      const seconds = r.durationUs / 1e6;
      resolve({
        requests: r.requests,
        bytes: r.bytes,
        seconds,
        rps: r.requests / seconds,
        p50Ms: r.p50Us / 1000,
        p99Ms: r.p99Us / 1000,
        errors: r.errors,
        non2xx: r.non2xx,
      });
    });
  });
}
