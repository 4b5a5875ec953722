// Medians and the printed table of the proxy benchmark.

/** Median of a non-empty list of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Reduces the runs of one contender in one case to medians (errors are summed). */
export function summarize(samples) {
  return {
    rps: median(samples.map((s) => s.rps)),
    mbps: median(samples.map((s) => s.mbps)),
    p50Ms: median(samples.map((s) => s.p50Ms)),
    p99Ms: median(samples.map((s) => s.p99Ms)),
    cpuUsPerReq: median(samples.map((s) => s.cpuUsPerReq)),
    errors: samples.reduce((sum, s) => sum + s.errors + s.non2xx, 0),
    runs: samples.length,
  };
}

/** Formats results as an aligned text table, one row per case and contender. */
export function formatTable(cases, results) {
  const header = ["case", "contender", "req/s", "MB/s", "p50 ms", "p99 ms", "CPU µs/req", "errors"];
  const rows = [];
  for (const c of cases) {
    for (const contender of c.contenders) {
      const r = results[c.id][contender.name];
      rows.push([c.label, contender.name, r.rps.toFixed(0), r.mbps.toFixed(1), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2),
        r.cpuUsPerReq.toFixed(1), String(r.errors)]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** a / b rounded to 3 decimals, or null when either side is missing. */
export function ratio(a, b) {
  if (a === undefined || b === undefined || b === 0) return null;
  return Math.round((a / b) * 1000) / 1000;
}
