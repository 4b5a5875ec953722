// The benchmark's active-standby app (a cold standby, started on promotion): it appends
// "start <instance> <token> <monotonic ns>" before it serves (src/failover/acting-log.ts), writes its
// pid to <ACTING_DIR>/<instance>.pid, answers /healthz, and on SIGTERM appends its stop line.
import http from "node:http";
import { appendFileSync, writeFileSync } from "node:fs";

const dir = process.env.ACTING_DIR;
const name = process.env.PHALANX_INSTANCE;
const token = process.env.PHALANX_FENCING_TOKEN ?? "0";
if (process.env.PHALANX_ROLE !== "active") {
  setInterval(() => {}, 1000);
} else {
  writeFileSync(`${dir}/${name}.pid`, String(process.pid));
  appendFileSync(`${dir}/acting.log`, `start ${name} ${token} ${process.hrtime.bigint()}\n`);
  process.on("SIGTERM", () => {
    appendFileSync(`${dir}/acting.log`, `stop ${name} ${process.hrtime.bigint()}\n`);
    process.exit(0);
  });
  http.createServer((req, res) => res.end(req.url === "/healthz" ? "ok" : JSON.stringify({ instance: name, token: Number(token) })))
    .listen(Number(process.env.PORT), "127.0.0.1");
}
