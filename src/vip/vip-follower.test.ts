import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { parseVipAddress } from "./core/address.js";
import type { VipAddress } from "./core/address.js";
import { VipFollower } from "./vip-follower.js";
import type { VipWatchdog } from "./vip-watchdog.js";
import { UNSOLICITED_NA_SCRIPT } from "./unsolicited-na.js";
import { VipOwner } from "./vip-owner.js";
import type { CommandResult, CommandRunner } from "./vip-owner.js";

const vip = parseVipAddress("10.231.0.200/24") as VipAddress;
const params = { announceRepeats: 3, announceIntervalMs: 20, acquireHeadroomMs: 100 };
const nowMs = (): number => performance.now();

/** A fake `ip`/`arping` that keeps the address state and a log of commands. */
function fakeHost(options: { failDeletes?: number; slowAddMs?: number } = {}): { runner: CommandRunner; log: string[]; has: () => boolean } {
  let has = false;
  let failDeletes = options.failDeletes ?? 0;
  const log: string[] = [];
  const ok = (stdout = ""): CommandResult => ({ code: 0, stdout, stderr: "" });
  const runner: CommandRunner = async (cmd, args) => {
    const verb = cmd === "arping" ? "announce" : `${args[0]} ${args[1]}`;
    if (verb === "announce") {
      log.push("announce");
      return { code: 1, stdout: "", stderr: "" }; // habets: unanswered
    }
    if (verb === "addr add") {
      log.push("add");
      if (options.slowAddMs !== undefined) await new Promise((r) => setTimeout(r, options.slowAddMs));
      if (has) return { code: 2, stdout: "", stderr: "Error: ipv4: Address already assigned." };
      has = true;
      if (options.slowAddMs !== undefined) log.push("added");
      return ok();
    }
    if (verb === "addr del") {
      log.push("del");
      if (failDeletes-- > 0) return { code: 2, stdout: "", stderr: "RTNETLINK answers: Operation not permitted" };
      if (!has) return { code: 2, stdout: "", stderr: "Error: ipv4: Address not found." };
      has = false;
      return ok();
    }
    throw new Error(`unexpected command ${cmd} ${args.join(" ")}`);
  };
  return { runner, log, has: () => has };
}

async function until(what: string, check: () => boolean): Promise<void> {
  const end = performance.now() + 5_000;
  while (!check()) {
    if (performance.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function follower(host: ReturnType<typeof fakeHost>): VipFollower {
  const owner = new VipOwner({ vip, interfaceName: "eth0", runner: host.runner, arping: "habets" });
  return new VipFollower({ owner, params, nowMs, logger: pino({ level: "silent" }) });
}

test("a holder adds the address, announces it the configured number of times, and removes it when the role moves", async () => {
  const host = fakeHost();
  const f = follower(host);
  f.update({ holder: true, fenceAtMs: nowMs() + 60_000 });
  await until("three announcements", () => host.log.filter((l) => l === "announce").length === 3);
  assert.deepEqual(host.log, ["add", "announce", "announce", "announce"]);
  f.update({ holder: false, fenceAtMs: nowMs() + 60_000 });
  await until("the address removed", () => !host.has());
  f.reannounce(); // not holding: nothing to announce
  await f.close();
  assert.equal(host.log.filter((l) => l === "announce").length, 3);
});

test("with no keep-alive after it, the follower removes the address at the fencing point by itself", async () => {
  const host = fakeHost();
  const f = follower(host);
  f.update({ holder: true, fenceAtMs: nowMs() + 300 });
  await until("the address added", () => host.has());
  await until("the address removed at the fencing point", () => !host.has());
  assert.equal(f.holding, false);
  await f.close();
});

test("a failed delete is retried until the address is gone; an add of a present address is success", async () => {
  const host = fakeHost({ failDeletes: 2 });
  const f = follower(host);
  f.update({ holder: true, fenceAtMs: nowMs() + 60_000 });
  await until("the address added", () => host.has());
  f.update({ holder: false, fenceAtMs: null });
  await until("the address removed", () => !host.has());
  assert.equal(host.log.filter((l) => l === "del").length, 3);
  await f.close();
  const owner = new VipOwner({ vip, interfaceName: "eth0", runner: host.runner, arping: "habets" });
  await owner.acquire();
  await owner.acquire();
  assert.equal(host.has(), true);
});

test("IPv6: the address is added without duplicate-address detection and announced by an unsolicited NA; a failed announcement says why", async () => {
  const calls: string[] = [];
  const v6 = parseVipAddress("fd00::c8/64") as VipAddress;
  const runner: CommandRunner = async (cmd, args) => {
    calls.push(cmd === "perl" ? `perl ${args.slice(0, 1).join(" ")} <script> ${args.slice(2).join(" ")}` : `${cmd} ${args.join(" ")}`);
    if (cmd === "perl") {
      assert.equal(args[1], UNSOLICITED_NA_SCRIPT);
      return { code: 2, stdout: "", stderr: "cannot open a raw ICMPv6 socket (needs CAP_NET_RAW): Operation not permitted\n" };
    }
    return { code: 0, stdout: "", stderr: "" };
  };
  const owner = new VipOwner({ vip: v6, interfaceName: "eth0", runner });
  await owner.acquire();
  await assert.rejects(owner.announce(), /perl -e <unsolicited-na.ts> fd00::c8 eth0: cannot open a raw ICMPv6 socket \(needs CAP_NET_RAW\)/);
  assert.deepEqual(calls, ["ip addr add fd00::c8/64 dev eth0 nodad", "perl -e <script> fd00::c8 eth0"]);
});

test("close() during an acquire in flight still leaves the address removed", async () => {
  const host = fakeHost({ slowAddMs: 50 });
  const f = follower(host);
  f.update({ holder: true, fenceAtMs: nowMs() + 60_000 }); // the add starts now, takes effect 50 ms later
  await f.close();
  await until("the slow add to take effect", () => host.log.includes("added"));
  assert.equal(host.has(), false, `the address is left behind: ${host.log.join(", ")}`);
  assert.ok(host.log.indexOf("added") < host.log.lastIndexOf("del"), host.log.join(", "));
});

test("the watchdog removing the address while the role is still held makes the follower add it again (no belief in an address the kernel lost)", async () => {
  const host = fakeHost();
  const removed: ((atNs: bigint) => void)[] = [];
  const watchdog = { arm: (): void => undefined, disarm: (): void => undefined, onRemoved: (l: (atNs: bigint) => void): void => void removed.push(l) };
  const owner = new VipOwner({ vip, interfaceName: "eth0", runner: host.runner, arping: "habets" });
  const f = new VipFollower({ owner, params, nowMs, logger: pino({ level: "silent" }), watchdog: watchdog as unknown as VipWatchdog });
  f.update({ holder: true, fenceAtMs: nowMs() + 60_000 });
  await until("the address to be added", () => host.has());
  await until("the announcements", () => host.log.filter((l) => l === "announce").length === params.announceRepeats);
  // The watchdog process fires on a stale deadline: the kernel loses the address; the role stays.
  await host.runner("ip", ["addr", "del", vip.cidr, "dev", "eth0"]);
  for (const l of removed) l(process.hrtime.bigint());
  await until("the address to be added again", () => host.has());
  assert.equal(host.log.filter((l) => l === "add").length, 2, host.log.join(", "));
  await until("announced again", () => host.log.filter((l) => l === "announce").length === 2 * params.announceRepeats);
  await f.close();
});
