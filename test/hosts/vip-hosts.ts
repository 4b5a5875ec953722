// Small helpers of the VIP host tests: polling with a deadline, and which hosts hold an address now.
import type { HostNet } from "./harness.js";

/** Polls `check` until it returns a value (not undefined) or the deadline passes; the error says what was awaited and the last `last()`. */
export async function until<T>(what: string, deadlineMs: number, check: () => Promise<T | undefined>, last: () => string = () => ""): Promise<T> {
  const end = performance.now() + deadlineMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error(`Timed out after ${deadlineMs} ms waiting for ${what}${last() ? ` (last: ${last()})` : ""}`);
    await new Promise((r) => setTimeout(r, 50)); // poll interval, bounded by the deadline above
  }
}

/** The hosts among `hosts` that have `vip` on eth0 right now (read one after another). */
export async function vipHolders(net: HostNet, hosts: readonly string[], vip: string): Promise<string[]> {
  const held = await Promise.all(hosts.map(async (h) => ((await net.addresses(h)).includes(vip) ? h : null)));
  return held.filter((h): h is string => h !== null);
}
