// A test instance of an active-standby service: it logs when it starts and stops acting as active
// (acting-log.ts lines, on the machine's monotonic clock) and otherwise idles. SIGTERM = demote.
import { appendFileSync } from "node:fs";

const log = process.env.ACTING_LOG;
const name = process.env.INSTANCE_NAME ?? "instance";
const token = process.env.PHALANX_FENCING_TOKEN ?? "0";
appendFileSync(log, `start ${name} ${token} ${process.hrtime.bigint()}\n`);
process.on("SIGTERM", () => {
  appendFileSync(log, `stop ${name} ${process.hrtime.bigint()}\n`);
  process.exit(0);
});
setInterval(() => {}, 1000);
