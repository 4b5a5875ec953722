// The scrape-time counters and histogram must print exactly what prom-client's own would.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Counter, Histogram, Registry } from "prom-client";
import { seededRandom } from "../kv/testkit.js";
import { CollectedCounter, CollectedHistogram, LatencyBuckets } from "./collected-metrics.js";

const BOUNDS = [0.001, 0.01, 0.1, 1];

/** The sample lines of one metric, with its name replaced so two metrics can be compared. */
async function samples(registry: Registry, name: string): Promise<string[]> {
  const text = await registry.metrics();
  return text.split("\n").filter((line) => line.startsWith(name)).map((line) => line.replace(name, "m"));
}

test("the collected histogram prints the same buckets, sum and count as prom-client's Histogram", async () => {
  const registry = new Registry();
  const reference = new Histogram({ name: "ref_seconds", help: "h", labelNames: ["frontend", "backend"], buckets: BOUNDS, registers: [registry] });
  const series = new Map<string, LatencyBuckets>();
  new CollectedHistogram("ours_seconds", "h", registry, BOUNDS, function* () {
    for (const [backend, buckets] of series) yield [{ frontend: "web", backend }, buckets];
  });
  const random = seededRandom(7);
  for (let i = 0; i < 2000; i++) {
    const backend = random() < 0.5 ? "a" : "b";
    // Values on the bounds too: a bucket's bound is inclusive (le).
    const value = random() < 0.1 ? BOUNDS[Math.floor(random() * BOUNDS.length)]! : random() * random() * 2;
    reference.observe({ frontend: "web", backend }, value);
    if (!series.has(backend)) series.set(backend, new LatencyBuckets(BOUNDS));
    series.get(backend)!.observe(value);
  }
  const ours = await samples(registry, "ours_seconds");
  const theirs = await samples(registry, "ref_seconds");
  assert.equal(ours.length, 2 * (BOUNDS.length + 1 + 2));
  // Sums may differ in the last digit by summation order; compare them numerically.
  const split = (lines: string[]) => ({
    exact: lines.filter((l) => !l.startsWith("m_sum")).sort(),
    sums: lines.filter((l) => l.startsWith("m_sum")).sort().map((l) => Number(l.split(" ")[1])),
  });
  assert.deepEqual(split(ours).exact, split(theirs).exact);
  split(ours).sums.forEach((sum, i) => assert.ok(Math.abs(sum - split(theirs).sums[i]!) < 1e-9));
});

test("the collected counter prints what prom-client's Counter would, and reset leaves the counts alone", async () => {
  const registry = new Registry();
  const reference = new Counter({ name: "ref_total", help: "c", labelNames: ["class"], registers: [registry] });
  const counts = new Map<string, number>([["2xx", 5], ["5xx", 2]]);
  new CollectedCounter("ours_total", "c", registry, () => [...counts].map(([c, v]) => [{ class: c }, v]));
  reference.inc({ class: "2xx" }, 5);
  reference.inc({ class: "5xx" }, 2);
  assert.deepEqual(await samples(registry, "ours_total"), await samples(registry, "ref_total"));
  registry.resetMetrics();
  assert.deepEqual(await samples(registry, "ours_total"), ["m{class=\"2xx\"} 5", "m{class=\"5xx\"} 2"]);
  const json = await registry.getMetricsAsJSON();
  assert.equal(json.find((m) => m.name === "ours_total")?.type, "counter");
});
