// The replica both halves of the replace benchmark run: answers every request with its own name
// (so the load loop can tell which replica served), and /healthz for the health checks. It listens
// on $PORT (given by the Phalanx agent, or by the benchmark for the HAProxy half).
import { createServer } from "node:http";

const port = Number(process.env.PORT ?? process.argv[2]);
const host = process.env.HOST ?? "127.0.0.1";
const name = process.env.REPLICA_NAME ?? `${host}:${port}`;
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write("Cannot start the replica: set PORT to the port to listen on\n");
  process.exit(2);
}
const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    if (req.url === "/healthz") return void res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    res.writeHead(200, { "content-type": "text/plain", "x-replica": name }).end(name);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, host, () => process.stdout.write(`listening ${host}:${port}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
