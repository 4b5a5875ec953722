// The fencing watchdog: a small process of its own (a second Node event loop, in its own session)
// that the agent arms with the acting deadline of each active instance and feeds with a later one
// after every acknowledged keep-alive. If a deadline passes unfed, it SIGKILLs that instance's
// process group. It depends on nothing in the agent: an agent that is SIGSTOPped, stuck in a long
// synchronous task or swapped out cannot keep its active acting past the deadline its last
// keep-alive allowed (src/failover/fencing.ts, docs/failover.md). Deadlines travel as absolute
// readings of CLOCK_MONOTONIC (process.hrtime), which every process of the machine shares, so the
// time a line spends in the pipe does not move them.
//
// Protocol on the child's stdin, one line each: "arm PGID DEADLINE_NS" (set or move the deadline of
// a group), "disarm PGID" (the instance stopped or was demoted in time). It writes
// "killed PGID AT_NS" on stdout after each kill. End of input (the agent died) does not disarm
// anything: armed deadlines still fire, then the watchdog exits.
import { spawn, type ChildProcess } from "node:child_process";
import type { Logger } from "pino";

const CHILD_SCRIPT = `
"use strict";
for (const s of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(s, () => {});
// The agent may be gone (its end of stdout closed): a failed report must not stop the next kill.
process.stdout.on("error", () => {});
const deadlines = new Map();
let timer = null;
let ended = false;
const now = () => process.hrtime.bigint();
function check() {
  timer = null;
  const t = now();
  for (const [pgid, at] of deadlines) {
    if (at > t) continue;
    deadlines.delete(pgid);
    try { process.kill(-pgid, "SIGKILL"); } catch {}
    process.stdout.write("killed " + pgid + " " + now() + "\\n");
  }
  schedule();
}
function schedule() {
  if (timer !== null) clearTimeout(timer);
  timer = null;
  if (deadlines.size === 0) { if (ended) process.exit(0); return; }
  let first = null;
  for (const at of deadlines.values()) if (first === null || at < first) first = at;
  const waitMs = Number((first - now()) / 1000000n);
  timer = setTimeout(check, Math.max(0, Math.min(waitMs, 1000)));
}
let buf = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  buf += chunk;
  let i;
  while ((i = buf.indexOf("\\n")) >= 0) {
    const [cmd, pgid, at] = buf.slice(0, i).split(" ");
    buf = buf.slice(i + 1);
    if (cmd === "arm" && /^\\d+$/.test(pgid) && /^\\d+$/.test(at)) deadlines.set(Number(pgid), BigInt(at));
    else if (cmd === "disarm" && /^\\d+$/.test(pgid)) deadlines.delete(Number(pgid));
  }
  check();
});
process.stdin.on("end", () => { ended = true; schedule(); });
`;

/** A reading of the machine's monotonic clock in nanoseconds (the watchdog's time base). */
export function monotonicNowNs(): bigint {
  return process.hrtime.bigint();
}

/** Converts a delay from now into a monotonic deadline. */
export function deadlineAfterMs(delayMs: number): bigint {
  return monotonicNowNs() + BigInt(Math.max(0, Math.round(delayMs * 1e6)));
}

/** Kills active instances whose fencing deadline passes unfed, from a process of its own. */
export class FencingWatchdog {
  private readonly child: ChildProcess;
  private readonly armed = new Map<number, bigint>();
  private readonly killListeners: ((pgid: number, atNs: bigint) => void)[] = [];

  constructor(private readonly logger: Logger) {
    this.child = spawn(process.execPath, ["-e", CHILD_SCRIPT], { detached: true, stdio: ["pipe", "pipe", "ignore"] });
    this.child.unref();
    this.child.stdin?.on("error", () => undefined); // a dead watchdog is reported by 'exit'
    this.child.once("exit", (code, signal) => {
      if (this.armed.size > 0) this.logger.error({ code, signal }, "fencing watchdog exited while instances are armed: a hung agent could leave its active serving");
    });
    let out = "";
    this.child.stdout?.setEncoding("utf8");
    this.child.stdout?.on("data", (chunk: string) => {
      out += chunk;
      let i: number;
      while ((i = out.indexOf("\n")) >= 0) {
        const [word, pgid, at] = out.slice(0, i).split(" ");
        out = out.slice(i + 1);
        if (word !== "killed" || pgid === undefined || at === undefined) continue;
        this.armed.delete(Number(pgid));
        this.logger.warn({ pgid: Number(pgid) }, "fencing watchdog killed an active instance: its agent did not feed it before the fencing deadline");
        for (const l of this.killListeners) l(Number(pgid), BigInt(at));
      }
    });
  }

  /** Process id of the watchdog (tests, `phalanx status`). */
  get pid(): number | null {
    return this.child.pid ?? null;
  }

  /** Arms (or feeds: moves) the deadline of `pgid`'s group, as a monotonic reading (monotonicNowNs()). */
  arm(pgid: number, deadlineNs: bigint): void {
    if (!Number.isSafeInteger(pgid) || pgid <= 1) throw new RangeError(`Cannot arm the fencing watchdog for process group ${pgid}: not a group id`);
    this.armed.set(pgid, deadlineNs);
    this.child.stdin?.write(`arm ${pgid} ${deadlineNs}\n`);
  }

  /** The group stopped acting in time (demoted or stopped): forget its deadline. */
  disarm(pgid: number): void {
    if (this.armed.delete(pgid)) this.child.stdin?.write(`disarm ${pgid}\n`);
  }

  /** Called after the watchdog killed a group. */
  onKill(listener: (pgid: number, atNs: bigint) => void): void {
    this.killListeners.push(listener);
  }

  /** Ends the watchdog once nothing is armed (what is still armed fires first). */
  close(): void {
    this.child.stdin?.end();
  }
}
