// Small helpers of the VIP host tests: polling with a deadline, which hosts hold an address now,
// the arping precondition, and the active-standby service with a `vip:` the agent tests apply.
import { spawnSync } from "node:child_process";
import type { TestContext } from "node:test";
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

const hasArping = spawnSync("sh", ["-c", "command -v arping"]).status === 0;

/**
 * Gratuitous ARP needs `arping` (Debian `arping`, which .ci/run installs): true when present; else
 * the test is skipped with the reason (false), or fails when PHALANX_HOSTS_REQUIRED=1 (CI).
 */
export function arpingOrSkip(t: TestContext): boolean {
  if (hasArping) return true;
  if (process.env["PHALANX_HOSTS_REQUIRED"] === "1") throw new Error("VIP host tests required (PHALANX_HOSTS_REQUIRED=1) but arping is missing: apt-get install arping");
  t.skip("needs arping for gratuitous ARP: apt-get install arping");
  return false;
}

/** An active-standby service "web" (2 warm standbys, flap damping off) with `vip:` on eth0; its app answers with its host's own eth0 address (the VIP left out) on port 8080. */
export function vipWebService(vip: string): string {
  const app = [
    'const os = require("node:os");',
    `const me = (os.networkInterfaces().eth0 || []).map((a) => a.address).filter((a) => a !== ${JSON.stringify(vip)} && !a.includes(":"))[0];`,
    'require("node:http").createServer((q, s) => s.end(String(me))).listen(8080, "0.0.0.0");',
  ].join("\n");
  return [
    "services:",
    "  - name: web",
    `    run: { command: ${JSON.stringify(process.execPath)}, args: ["-e", ${JSON.stringify(app)}] }`,
    "    mode: active-standby",
    "    standbys: 2",
    "    standby: warm",
    `    vip: { address: ${vip}/24, interface: eth0 }`,
    // Damping off: these tests kill on purpose, and with `profile: fast` on a loaded machine a
    // holder may fence itself a few times at start-up (its documented cost); damping would then
    // hold promotion back for 10 s, 20 s, 40 s and the VIP would be nowhere (as in bench:vip).
    "    flapDamping: { threshold: 100000 }",
    "",
  ].join("\n");
}
