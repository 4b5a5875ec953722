// A live node's /metrics passes `promtool check metrics` (Prometheus' naming lint: units last,
// counters end in _total, HELP on every family) on its phalanx_ series, and carries the cluster
// view (members, failover counters). promtool comes with the Debian package `prometheus` (CI installs
// it); without it the promtool part is skipped with a printed reason.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { call, startApiNode } from "../testing/api-testing.js";

/** The lines of the phalanx_ families (samples and their # HELP / # TYPE lines). */
export function phalanxSeries(text: string): string {
  return text.split("\n").filter((l) => /^(# (HELP|TYPE) )?phalanx_/.test(l)).join("\n") + "\n";
}

const promtoolPresent = spawnSync("promtool", ["--version"]).status === 0;

test("a live node's phalanx_ metrics pass promtool check metrics and include the cluster view", async (t) => {
  const api = await startApiNode();
  t.after(() => api.close());
  const m = await call(api.baseUrl, "GET", "/metrics", { token: api.clientToken });
  assert.equal(m.status, 200, m.text);
  const series = phalanxSeries(m.text);
  assert.match(series, /^phalanx_cluster_members\{state="up"\} 1$/m, "a single node reaches itself");
  assert.match(series, /^phalanx_cluster_members\{state="down"\} 0$/m);
  assert.match(series, /^phalanx_failovers_total\{outcome="completed"\} 0$/m);
  assert.match(series, /^# TYPE phalanx_failover_duration_seconds histogram$/m);
  assert.match(series, /^# TYPE phalanx_service_instances gauge$/m);
  if (!promtoolPresent) {
    t.skip("promtool not installed (Debian package `prometheus`): the naming lint was not run");
    return;
  }
  const r = spawnSync("promtool", ["check", "metrics"], { input: series, encoding: "utf8" });
  assert.equal(r.status, 0, `promtool check metrics failed:\n${r.stdout}${r.stderr}`);
});
