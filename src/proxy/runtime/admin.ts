// The proxy's admin listener: /metrics (Prometheus text) and /healthz (is the runtime serving).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ListenAddress } from "../types.js";

/** A running admin listener. */
export interface AdminServer {
  readonly address: ListenAddress;
  close(): Promise<void>;
}

/** What the admin endpoints read. */
export interface AdminSources {
  metricsText(): Promise<string>;
  /** Null when healthy, else the reason. */
  unhealthyReason(): string | null;
}

/** Starts serving /metrics and /healthz on `listen`. */
export async function startAdminServer(listen: ListenAddress, sources: AdminSources): Promise<AdminServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/metrics") {
      sources.metricsText().then(
        (text) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(text),
        (err: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`Cannot collect metrics: ${String(err)}\n`),
      );
      return;
    }
    if (path === "/healthz") {
      const reason = sources.unhealthyReason();
      res.writeHead(reason === null ? 200 : 503, { "content-type": "text/plain" }).end(reason === null ? "ok\n" : `${reason}\n`);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("Not found: try /metrics or /healthz\n");
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    address: { host: bound.address, port: bound.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
