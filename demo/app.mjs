// The app `phalanx demo` deploys: a tiny HTTP server with no dependencies. Every instance answers
// `/` with who it is (service, port, pid, role) and how many requests it has served, `/healthz` for the
// health check and `/stats` for the demo's status view (not counted as served). The same file runs
// as the active/active service `web` and as the singleton `singleton`; under active/standby the
// agent starts an instance with its role in PHALANX_ROLE and its fencing token in
// PHALANX_FENCING_TOKEN (src/failover/role.ts), shown as started (a promotion happens later).
import http from "node:http";

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write("demo app: $PORT is not set: run it through `phalanx demo`, or `PORT=8080 node demo/app.mjs`\n");
  process.exit(2);
}
// The agent gives each instance its own port, so the port names the instance (the status view maps
// it to the instance id); DEMO_SERVICE comes from the service spec's env.
const who = { service: process.env.DEMO_SERVICE ?? "app", port, pid: process.pid };
const startedAtMs = Date.now();
let served = 0;

const server = http.createServer((req, res) => {
  const role = process.env.PHALANX_ROLE ?? null;
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    return;
  }
  if (req.url === "/stats") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ...who, role, served, uptimeMs: Date.now() - startedAtMs }));
    return;
  }
  served++;
  res.writeHead(200, { "content-type": "application/json" });
  res.end(`${JSON.stringify({ ...who, role, token: process.env.PHALANX_FENCING_TOKEN ?? null, served })}\n`);
});
server.keepAliveTimeout = 5000;
server.listen(port, process.env.HOST ?? "127.0.0.1", () => process.stdout.write(`demo app (${who.service}) serving on ${port}\n`));
// Finish what is in flight, then go: the agent sends SIGTERM and waits stop.timeoutMs.
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
