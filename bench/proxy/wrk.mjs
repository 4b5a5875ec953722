// Runs wrk pinned to the load CPU and returns its summary, read from the shared Lua done() hook
// (../common/wrk.mjs: exact counts and microsecond percentiles instead of wrk's rounded text).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DONE_HOOK, runWrkJson } from "../common/wrk.mjs";

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
export async function runWrk({ cpu, url, connections, durationS, script }) {
  const args = ["-c", String(cpu), "wrk", "-t1", `-c${connections}`, `-d${durationS}s`, "--latency", "-s", script, url];
  const r = await runWrkJson("taskset", args, url);
  return {
    requests: r.requests, rps: r.rps, mbps: r.bytes / r.seconds / 1e6, p50Ms: r.p50Ms, p99Ms: r.p99Ms, errors: r.errors, non2xx: r.non2xx,
  };
}
