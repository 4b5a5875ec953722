// The monitoring files in deploy/: the Prometheus alert rules pass `promtool check rules`, and every
// phalanx_ series the rules and the Grafana dashboard query is one the code defines (a renamed metric
// breaks this test, not a dashboard in production). promtool: Debian package `prometheus`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");
const RULES = join(ROOT, "deploy", "prometheus", "phalanx-alerts.yml");
const DASHBOARD = join(ROOT, "deploy", "grafana", "phalanx.json");
/** Metric names defined in the sources (prom-client `name: "phalanx_..."`). */
function definedMetrics(): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith(".ts") && !p.endsWith(".test.ts")) for (const m of readFileSync(p, "utf8").matchAll(/(?:name: |new Collected(?:Counter|Histogram)\()"(phalanx_[a-z0-9_]+)"/g)) out.add(m[1]!);
    }
  };
  walk(join(ROOT, "src"));
  // Gauges and counters set through a helper: gauge("phalanx_...", ...) / counter("phalanx_...", ...).
  for (const m of readFileSync(join(ROOT, "src", "server", "node-metrics.ts"), "utf8").matchAll(/(?:gauge|counter)\("(phalanx_[a-z0-9_]+)"/g)) out.add(m[1]!);
  return out;
}

/** The phalanx_ names a query text uses, with histogram suffixes taken off. */
function queried(text: string): string[] {
  return [...new Set([...text.matchAll(/phalanx_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, "")))];
}

test("deploy/prometheus/phalanx-alerts.yml passes promtool check rules and its unit tests (promtool test rules)", (t) => {
  if (spawnSync("promtool", ["--version"]).status !== 0) {
    t.skip("promtool not installed (Debian package `prometheus`): the rules were not checked");
    return;
  }
  const r = spawnSync("promtool", ["check", "rules", RULES], { encoding: "utf8" });
  assert.equal(r.status, 0, `promtool check rules failed:\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /SUCCESS: \d+ rules found/);
  // Behaviour: no leader fires after its minute, not before; healthy series raise nothing else.
  const u = spawnSync("promtool", ["test", "rules", join(ROOT, "deploy", "prometheus", "phalanx-alerts.test.yml")], { encoding: "utf8", cwd: join(ROOT, "deploy", "prometheus") });
  assert.equal(u.status, 0, `promtool test rules failed:\n${u.stdout}${u.stderr}`);
});

test("the rules and the Grafana dashboard query only metrics the code defines; the dashboard is valid JSON with the etcd-style panels", () => {
  const defined = definedMetrics();
  assert.ok(defined.has("phalanx_server_term") && defined.has("phalanx_failovers_total"), "the metric definitions were found");
  const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { panels: { title: string; type: string; targets?: { expr: string }[] }[] };
  const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((x) => x.expr).join("\n");
  for (const [what, text] of [["dashboard", exprs], ["rules", readFileSync(RULES, "utf8")]] as const) {
    const unknown = queried(text).filter((n) => !defined.has(n));
    assert.deepEqual(unknown, [], `${what} queries metrics no code defines`);
  }
  const titles = dashboard.panels.map((p) => p.title).join("\n");
  for (const t of ["Leader", "Term", "Leader changes", "Proposals", "WAL fsync", "Apply lag", "requests by route", "Failover", "Instances by service and state"]) {
    assert.ok(titles.toLowerCase().includes(t.toLowerCase()), `a panel titled like "${t}"`);
  }
});
