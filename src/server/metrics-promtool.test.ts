// A live node's /metrics passes `promtool check metrics` (Prometheus' naming lint: units last,
// counters end in _total, HELP on every family) on its phalanx_ series, and carries the cluster
// view (members, failover counters). promtool comes with the Debian package `prometheus` (CI installs
// it); without it the promtool part is skipped with a printed reason.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { connect } from "node:net";
import { call, startApiNode } from "../testing/api-testing.js";

/** The lines of the phalanx_ families (samples and their # HELP / # TYPE lines). */
export function phalanxSeries(text: string): string {
  return text.split("\n").filter((l) => /^(# (HELP|TYPE) )?phalanx_/.test(l)).join("\n") + "\n";
}

const promtoolPresent = spawnSync("promtool", ["--version"]).status === 0;

/** Sends memcached text commands and resolves once `until` appears in the answer. */
async function memcached(port: number, commands: string, until: string): Promise<string> {
  const socket = connect(port, "127.0.0.1");
  try {
    return await new Promise<string>((resolve, reject) => {
      let text = "";
      socket.on("data", (chunk) => {
        text += String(chunk);
        if (text.includes(until)) resolve(text);
      });
      socket.on("error", reject);
      socket.write(commands);
    });
  } finally {
    socket.destroy();
  }
}

test("a live node's phalanx_ metrics pass promtool check metrics and include the cluster view", async (t) => {
  const api = await startApiNode({ fronts: { memcached: { enabled: true, listen: "127.0.0.1:0" } } });
  t.after(() => api.close());
  const port = api.node.fronts?.memcached?.port;
  assert.ok(port !== undefined && port > 0, "the memcached front listens");
  await memcached(port, "set k 0 0 1\r\nx\r\nget nothing\r\n", "END\r\n");
  const m = await call(api.baseUrl, "GET", "/metrics", { token: api.clientToken });
  assert.equal(m.status, 200, m.text);
  const series = phalanxSeries(m.text);
  assert.match(series, /^phalanx_cluster_members\{state="up"\} 1$/m, "a single node reaches itself");
  assert.match(series, /^phalanx_cluster_members\{state="down"\} 0$/m);
  assert.match(series, /^phalanx_failovers_total\{outcome="completed"\} 0$/m);
  assert.match(series, /^# TYPE phalanx_failover_duration_seconds histogram$/m);
  assert.match(series, /^# TYPE phalanx_service_instances gauge$/m);
  assert.match(series, /^phalanx_clock_skew_seconds\{node="1"\} 0$/m, "the leader's own skew is 0");
  assert.match(series, /^phalanx_front_commands_total\{front="memcached",command="set",outcome="stored"\} 1$/m);
  assert.match(series, /^phalanx_front_commands_total\{front="memcached",command="get",outcome="miss"\} 1$/m);
  for (const family of ["phalanx_health_checks_total counter", "phalanx_fencing_demotions_total counter", "phalanx_proxy_backend_ejected gauge", "phalanx_proxy_backend_up gauge", "phalanx_proxy_requests_total counter"]) {
    assert.match(series, new RegExp(`^# TYPE ${family}$`, "m"), `${family} is served on the node's /metrics`);
  }
  if (!promtoolPresent) {
    t.skip("promtool not installed (Debian package `prometheus`): the naming lint was not run");
    return;
  }
  const r = spawnSync("promtool", ["check", "metrics"], { input: series, encoding: "utf8" });
  assert.equal(r.status, 0, `promtool check metrics failed:\n${r.stdout}${r.stderr}`);
});
