// A host's HTTP server on :8080 that answers with the host's eth0 address (namespaces share one
// hostname, so the address is what tells hosts apart). Used by both halves of bench:vip.
import { createServer } from "node:http";
import { networkInterfaces } from "node:os";

const self = (networkInterfaces()["eth0"] ?? []).find((a) => a.family === "IPv4")?.address ?? "unknown";
createServer((_req, res) => res.end(self)).listen(8080, "0.0.0.0", () => process.stdout.write("ready\n"));
