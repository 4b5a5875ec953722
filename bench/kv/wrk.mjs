// The load generator: wrk (one thread, keep-alive) with a Lua script that cycles through prebuilt
// etcd-gateway JSON bodies, so per-request work in the generator is a table lookup. The same script
// drives Phalanx and etcd; only the Authorization header differs. A done() hook prints one JSON line
// with exact counts and microsecond percentiles (../common/wrk.mjs).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DONE_HOOK, runWrkJson } from "../common/wrk.mjs";
import { childrenCpuSeconds } from "./procs.mjs";

/** Distinct keys the benchmark writes and reads (a small, hot key space, like etcd's own benchmark). */
export const KEY_COUNT = 1000;
/** Value size in bytes. */
export const VALUE_BYTES = 256;

function key(i) {
  return Buffer.from(`bench/key/${String(i).padStart(6, "0")}`).toString("base64");
}

const VALUE = Buffer.alloc(VALUE_BYTES, "v").toString("base64");

/** Writes the Lua script for `op` ("put" | "get") with `headers`; returns its path. */
export function writeScript(dir, name, op, headers) {
  const bodies = [];
  for (let i = 0; i < KEY_COUNT; i++) bodies.push(op === "put" ? `{"key":"${key(i)}","value":"${VALUE}"}` : `{"key":"${key(i)}"}`);
  const path = op === "put" ? "/v3/kv/put" : "/v3/kv/range";
  const lua = `
local bodies = { ${bodies.map((b) => `'${b}'`).join(",\n")} }
local n = #bodies
local i = math.random(n) - 1
wrk.method = "POST"
wrk.path = "${path}"
${Object.entries(headers).map(([k, v]) => `wrk.headers["${k}"] = "${v}"`).join("\n")}
request = function()
  i = (i + 1) % n
  return wrk.format(nil, nil, nil, bodies[i + 1])
end
${DONE_HOOK}`;
  const file = join(dir, `${name}-${op}.lua`);
  writeFileSync(file, lua);
  return file;
}

/**
 * One wrk run: `connections` keep-alive connections on one thread for `durationS` against `url`.
 * Resolves with { rps, p50Ms, p99Ms, requests, errors, non2xx, cpuPct } (cpuPct: wrk's own CPU).
 */
export async function runWrk({ url, connections, durationS, script }) {
  const args = ["-t1", `-c${connections}`, `-d${durationS}s`, "--timeout", "10s", "-s", script, url];
  // wrk's CPU: the children time of this process grows by exactly wrk's once it is reaped (the
  // clusters' processes are still running, so they are not counted).
  const childrenCpuBefore = childrenCpuSeconds(process.pid);
  const r = await runWrkJson("wrk", args, url);
  const cpuS = childrenCpuSeconds(process.pid) - childrenCpuBefore;
  return {
    requests: r.requests, rps: r.rps, p50Ms: r.p50Ms, p99Ms: r.p99Ms, errors: r.errors, non2xx: r.non2xx,
    cpuPct: (100 * cpuS) / r.seconds,
  };
}
