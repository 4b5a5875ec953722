// Runs wrk pinned to the load CPU and returns its summary, read from a Lua done() hook that prints
// one JSON line (exact counts and microsecond percentiles instead of wrk's rounded text).
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const MARKER = "WRK_JSON ";
const DONE_HOOK = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '${MARKER}{"requests":%d,"bytes":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"errors":%d,"non2xx":%d}\\n',
    summary.requests, summary.bytes, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
`;

/** Writes the Lua hook into `dir`; pass the result to runWrk. */
export function writeWrkScript(dir) {
  const path = join(dir, "done.lua");
  writeFileSync(path, DONE_HOOK);
  return path;
}

/**
 * One wrk run against `url`: `connections` keep-alive connections on one thread for `durationS`.
 * Resolves with { rps, mbps, p50Ms, p99Ms, requests, errors, non2xx }.
 */
export function runWrk({ cpu, url, connections, durationS, script }) {
  const args = ["-c", String(cpu), "wrk", "-t1", `-c${connections}`, `-d${durationS}s`, "--latency", "-s", script, url];
  return new Promise((resolve, reject) => {
    const child = spawn("taskset", args, { stdio: ["ignore", "pipe", "pipe"] });
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
        rps: r.requests / seconds,
        mbps: r.bytes / seconds / 1e6,
        p50Ms: r.p50Us / 1000,
        p99Ms: r.p99Us / 1000,
        errors: r.errors,
        non2xx: r.non2xx,
      });
    });
  });
}
