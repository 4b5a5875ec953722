// The resident gratuitous-ARP helper (src/vip/garp-sender.ts) on real network stacks: a client's
// neighbour entry for the VIP points at h1; the VIP moves to h2 and h2's helper announces once;
// the client's entry then points at h2 — the frame is a gratuitous ARP Linux accepts. Without the
// announcement the entry stays on h1 (checked first, so the test can fail). Needs root and python3
// (skips otherwise, see README.md).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { GARP_SENDER_SCRIPT, GarpSender } from "../../src/vip/garp-sender.js";
import { HostNet } from "./harness.js";

const VIP = "10.231.0.200";
const hasPython = spawnSync("sh", ["-c", "command -v python3"]).status === 0;

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
async function until<T>(what: string, deadlineMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const end = performance.now() + deadlineMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error(`Timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20)); // poll interval, bounded by the deadline above
  }
}

test("the resident gratuitous-ARP helper moves a client's neighbour entry for the VIP to its host", { timeout: 60_000 }, async (t) => {
  if (!hasPython) {
    if (process.env["PHALANX_HOSTS_REQUIRED"] === "1") throw new Error("VIP host tests required (PHALANX_HOSTS_REQUIRED=1) but python3 is missing");
    t.skip("needs python3 for the gratuitous-ARP helper (VipOwner falls back to arping without it)");
    return;
  }
  const net = await HostNet.startOrSkip(t, { hosts: 2, clients: 1 });
  if (net === null) return;
  const [mac1, mac2] = [await net.macAddress("h1"), await net.macAddress("h2")];
  // The client talked to the VIP on h1: its entry points there (a stale entry, as after traffic).
  await net.exec("c1", "ip", ["neigh", "replace", VIP, "lladdr", mac1, "dev", "eth0", "nud", "stale"]);
  await net.exec("h2", "ip", ["addr", "add", `${VIP}/24`, "dev", "eth0"]);
  const sender = new GarpSender({
    interfaceName: "eth0",
    address: VIP,
    command: { cmd: "ip", args: ["netns", "exec", net.node("h2").namespace, "python3", "-c", GARP_SENDER_SCRIPT, "eth0", VIP] },
  });
  t.after(() => sender.close());
  assert.equal(await sender.start(), true, "the helper did not open its socket");
  assert.equal((await net.neighbour("c1", VIP))?.mac, mac1, "the client's entry moved before any announcement");
  await sender.announce();
  const moved = await until("the client's neighbour entry for the VIP to point at h2", 5_000, async () => {
    const n = await net.neighbour("c1", VIP);
    return n?.mac === mac2 ? n : undefined;
  });
  assert.equal(moved.mac, mac2);
});

test("a helper that cannot start reports it unusable instead of failing (VipOwner then uses arping)", { timeout: 30_000 }, async () => {
  const sender = new GarpSender({ interfaceName: "eth0", address: VIP, command: { cmd: "/nonexistent/python3", args: [] } });
  assert.equal(await sender.start(), false);
  assert.equal(sender.usable, false);
  await assert.rejects(sender.announce(), /not running/);
  sender.close();
});
