// The "most used Node proxy" contender: http-proxy on node:http with a keep-alive http.Agent,
// round-robining two backends. Usage: node http-proxy-server.mjs PORT BACKEND_PORT...
import http from "node:http";
import httpProxy from "http-proxy";

const [port, ...backendPorts] = process.argv.slice(2).map(Number);
if (!port || backendPorts.length === 0) {
  process.stderr.write("Usage: node http-proxy-server.mjs PORT BACKEND_PORT...\n");
  process.exit(2);
}

const targets = backendPorts.map((p) => `http://127.0.0.1:${p}`);
const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 1024 });
const proxy = httpProxy.createProxyServer({ agent, xfwd: true });
proxy.on("error", (_err, _req, res) => {
  // res is a socket for upgrades; the benchmark sends none.
  if ("writeHead" in res && !res.headersSent) res.writeHead(502);
  res.end();
});

let next = 0;
const server = http.createServer((req, res) => {
  const target = targets[next];
  next = (next + 1) % targets.length;
  proxy.web(req, res, { target });
});
server.keepAliveTimeout = 300_000;
server.listen(port, "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
