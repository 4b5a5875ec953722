// The VIP's watchdog: a small process of its own (detached, its own session) that removes the
// address (`ip addr del`) when the deadline it was armed with passes unfed. The follower arms it
// before adding the address and feeds it on every update while holding, so an agent that is
// killed -9, SIGSTOPped or stuck cannot leave the address on this host past the deadline its last
// acknowledged keep-alive allowed — the failure Keepalived shows after kill -9 (the dead holder
// keeps the address). Same design as src/failover/watchdog/fencing-watchdog.ts (which kills
// process groups); deadlines are absolute CLOCK_MONOTONIC readings, shared by every process.
//
// Protocol on the child's stdin: "arm DEADLINE_NS", "disarm". It writes "removed AT_NS" after a
// removal. End of input (the agent died) does not disarm: an armed deadline still fires, then it exits.
import { spawn, type ChildProcess } from "node:child_process";
import type { Logger } from "pino";
import type { VipAddress } from "./core/address.js";

const CHILD_SCRIPT = `
"use strict";
const { execFileSync } = require("node:child_process");
for (const s of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(s, () => {});
process.stdout.on("error", () => {});
const [cidr, dev] = process.argv.slice(1);
let deadline = null;
let timer = null;
let ended = false;
const now = () => process.hrtime.bigint();
function check() {
  timer = null;
  if (deadline !== null && deadline <= now()) {
    deadline = null;
    // Retried on the next check if ip fails for another reason than "not there".
    try { execFileSync("ip", ["addr", "del", cidr, "dev", dev], { stdio: "pipe", timeout: 5000 }); }
    catch (e) { if (!/Cannot assign requested address|not found/i.test(String(e.stderr))) { deadline = now(); } }
    if (deadline === null) process.stdout.write("removed " + now() + "\\n");
  }
  schedule();
}
function schedule() {
  if (timer !== null) clearTimeout(timer);
  timer = null;
  if (deadline === null) { if (ended) process.exit(0); return; }
  const waitMs = Number((deadline - now()) / 1000000n);
  timer = setTimeout(check, Math.max(0, Math.min(waitMs, 1000)));
}
let buf = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  buf += chunk;
  let i;
  while ((i = buf.indexOf("\\n")) >= 0) {
    const [cmd, at] = buf.slice(0, i).split(" ");
    buf = buf.slice(i + 1);
    if (cmd === "arm" && /^\\d+$/.test(at)) deadline = BigInt(at);
    else if (cmd === "disarm") deadline = null;
  }
  check();
});
process.stdin.on("end", () => { ended = true; schedule(); });
`;

/** Removes the VIP from a process of its own when its deadline passes unfed. */
export class VipWatchdog {
  private readonly child: ChildProcess;
  private armedNs: bigint | null = null;
  private readonly removedListeners: ((atNs: bigint) => void)[] = [];

  constructor(vip: VipAddress, interfaceName: string, private readonly logger: Logger) {
    this.child = spawn(process.execPath, ["-e", CHILD_SCRIPT, vip.cidr, interfaceName], { detached: true, stdio: ["pipe", "pipe", "ignore"] });
    this.child.unref();
    this.child.stdin?.on("error", () => undefined);
    this.child.once("exit", (code, signal) => {
      if (this.armedNs !== null) this.logger.error({ code, signal, vip: vip.cidr }, "VIP watchdog exited while armed: a hung agent could leave the address on this host");
    });
    let out = "";
    this.child.stdout?.setEncoding("utf8");
    this.child.stdout?.on("data", (chunk: string) => {
      out += chunk;
      let i: number;
      while ((i = out.indexOf("\n")) >= 0) {
        const [word, at] = out.slice(0, i).split(" ");
        out = out.slice(i + 1);
        if (word !== "removed" || at === undefined) continue;
        this.armedNs = null;
        this.logger.warn({ vip: vip.cidr }, "VIP watchdog removed the address: the agent did not feed it before the deadline");
        for (const l of this.removedListeners) l(BigInt(at));
      }
    });
  }

  /** Process id of the watchdog (tests). */
  get pid(): number | null {
    return this.child.pid ?? null;
  }

  /** Arms or feeds: the address must be gone by `deadlineNs` (a process.hrtime.bigint() reading). */
  arm(deadlineNs: bigint): void {
    this.armedNs = deadlineNs;
    this.child.stdin?.write(`arm ${deadlineNs}\n`);
  }

  /** The address was removed in time. */
  disarm(): void {
    if (this.armedNs === null) return;
    this.armedNs = null;
    this.child.stdin?.write("disarm\n");
  }

  onRemoved(listener: (atNs: bigint) => void): void {
    this.removedListeners.push(listener);
  }

  /** Ends the watchdog once disarmed (an armed deadline still fires first). */
  close(): void {
    this.child.stdin?.end();
  }
}
