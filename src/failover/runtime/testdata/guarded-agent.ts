// A stand-in agent for active-guard.test.ts: an ActiveGuard with the fencing watchdog over a real
// instance (acting-instance.mjs). It holds the role (record on its lease) and "renews" its lease
// every RENEW_MS (acknowledged at once, as a healthy store would), appending each send time to a
// file synchronously, so that once the test SIGSTOPs it the file holds the last acknowledged send.
import { appendFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { roleEnvironment } from "../../role.js";
import { FencingWatchdog } from "../../watchdog/fencing-watchdog.js";
import { ActiveGuard, monotonicNowMs } from "../active-guard.js";
import { GUARDED_AGENT_PARAMS } from "./guarded-agent-params.js";

const [actingLog, sendsFile] = process.argv.slice(2) as [string, string];
const logger = pino({ level: "silent" });
const watchdog = new FencingWatchdog(logger);
let pid: number | null = null;
const guard = new ActiveGuard({
  nodeId: 1,
  params: GUARDED_AGENT_PARAMS,
  watchdog,
  logger,
  instance: {
    promote: (token) => {
      const child = spawn(process.execPath, [fileURLToPath(new URL("./acting-instance.mjs", import.meta.url))], {
        detached: true, stdio: "ignore", env: { ...process.env, ...roleEnvironment("active", token), ACTING_LOG: actingLog, INSTANCE_NAME: "a" },
      });
      child.unref();
      pid = child.pid ?? null;
      process.stdout.write(`${JSON.stringify({ event: "promoted", pid, watchdogPid: watchdog.pid })}\n`);
    },
    demote: () => {
      if (pid !== null) process.kill(-pid, "SIGTERM");
    },
    processGroup: () => pid,
  },
});
const renew = (): void => {
  const sentMs = monotonicNowMs();
  appendFileSync(sendsFile, `${sentMs}\n`);
  guard.keepAliveAcked(sentMs);
};
const grantSent = monotonicNowMs();
appendFileSync(sendsFile, `${grantSent}\n`);
guard.leaseGranted(7, grantSent);
guard.recordSeen({ node: 1, leaseId: 7, token: 42 });
setInterval(renew, GUARDED_AGENT_PARAMS.renewIntervalMs);
