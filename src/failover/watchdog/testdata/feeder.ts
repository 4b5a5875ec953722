// A stand-in agent for fencing-watchdog.test.ts: starts an "instance" (a sleep in its own process
// group), arms the fencing watchdog for it and feeds it every FEED_MS with a deadline DEADLINE_MS
// ahead, printing one JSON line per event. The test SIGSTOPs this process; the watchdog must kill
// the instance on its own.
import { pino } from "pino";
import { spawn } from "node:child_process";
import { FencingWatchdog, deadlineAfterMs, monotonicNowNs } from "../fencing-watchdog.js";

const FEED_MS = 50;
const DEADLINE_MS = 800;

const instance = spawn("sleep", ["60"], { detached: true, stdio: "ignore" });
instance.unref();
const pgid = instance.pid as number;
const watchdog = new FencingWatchdog(pino({ level: "silent" }));
const say = (o: object): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};
say({ event: "started", pgid, watchdogPid: watchdog.pid, nowNs: String(monotonicNowNs()) });
const feed = (): void => {
  const deadlineNs = deadlineAfterMs(DEADLINE_MS);
  watchdog.arm(pgid, deadlineNs);
  say({ event: "fed", deadlineNs: String(deadlineNs) });
};
feed();
setInterval(feed, FEED_MS);
