// Request metrics kept in plain arrays and turned into Prometheus series only when scraped.
// Why not prom-client's Counter/Histogram on the hot path: each inc/observe there hashes its
// label object into a string, even through a cached child; on the proxy benchmark that was ~4 % of
// the proxy's CPU. Here a request costs two Map lookups and a few array writes. The objects below
// plug into a prom-client Registry (it reads any metric through get()), so /metrics, the text
// format and the JSON format stay prom-client's.
import type { Registry } from "prom-client";

/** One Prometheus sample as prom-client's registry reads it. */
interface Sample {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName?: string;
}

/** Latency of one label set: cumulative-on-read bucket counts, sum and count. */
export class LatencyBuckets {
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  private readonly bounds: readonly number[];

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** A counter or histogram whose series come from `collect()` at scrape time. */
abstract class CollectedMetric {
  readonly name: string;
  readonly help: string;
  abstract readonly type: "counter" | "histogram";
  readonly aggregator = "sum";

  constructor(name: string, help: string, registry: Registry) {
    this.name = name;
    this.help = help;
    // The registry reads metrics through get(); it takes any object with this shape.
    registry.registerMetric(this as unknown as Parameters<Registry["registerMetric"]>[0]);
  }

  abstract get(): { name: string; help: string; type: string; values: Sample[]; aggregator: string };

  /** Registry.resetMetrics() calls this; the counts belong to the proxy, not the registry. */
  reset(): void {}
}

/** A counter read from `source` (label set → value) at scrape time. */
export class CollectedCounter extends CollectedMetric {
  readonly type = "counter";
  private readonly source: () => Iterable<[Record<string, string>, number]>;

  constructor(name: string, help: string, registry: Registry, source: () => Iterable<[Record<string, string>, number]>) {
    super(name, help, registry);
    this.source = source;
  }

  get(): { name: string; help: string; type: string; values: Sample[]; aggregator: string } {
    const values: Sample[] = [];
    for (const [labels, value] of this.source()) values.push({ labels, value });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

/** A histogram read from `source` (label set → LatencyBuckets) at scrape time. */
export class CollectedHistogram extends CollectedMetric {
  readonly type = "histogram";
  private readonly bounds: readonly number[];
  private readonly source: () => Iterable<[Record<string, string>, LatencyBuckets]>;

  constructor(name: string, help: string, registry: Registry, bounds: readonly number[], source: () => Iterable<[Record<string, string>, LatencyBuckets]>) {
    super(name, help, registry);
    this.bounds = bounds;
    this.source = source;
  }

  get(): { name: string; help: string; type: string; values: Sample[]; aggregator: string } {
    const values: Sample[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const [labels, h] of this.source()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += h.counts[i]!;
        // "le" first, as prom-client writes it.
        values.push({ labels: { le: i < this.bounds.length ? this.bounds[i]! : "+Inf", ...labels }, value: cumulative, metricName: bucketName });
      }
      values.push({ labels, value: h.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: h.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
