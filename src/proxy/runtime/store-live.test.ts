// Live configuration from the store, end to end: a real one-node Phalanx cluster holds the proxy's
// frontends and backends under /phalanx/proxy/; the runtime follows a watch on that prefix. A backend
// swapped in the store takes the traffic while an established keep-alive connection keeps working.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { pino } from "pino";
import { ProcessCluster } from "../../testing/process-cluster.js";
import { freePort } from "../../cli/commands/dev.js";
import { kvWatchClientFrom } from "./clientAdapter.js";
import { BUILTIN_FRONTEND_FACTORIES } from "./factories.js";
import { ProxyRuntime } from "./runtime.js";
import { StoreConfigSource } from "./storeSource.js";
import { startBackend, waitFor } from "./testkit.js";

function get(port: number, agent: Agent): Promise<{ body: string; localPort: number | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/", agent }, (res) => {
      // Read now: a keep-alive socket is handed back to the agent when the response ends.
      const localPort = res.socket.localPort;
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ body, localPort }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("the proxy follows frontends and backends written in the store, without dropping an established connection", async (t) => {
  const cluster = await ProcessCluster.start(1);
  t.after(() => cluster.close());
  const client = cluster.client();
  t.after(() => client.close());
  const a = await startBackend("A");
  t.after(() => a.close());
  const b = await startBackend("B");
  t.after(() => b.close());
  const port = await freePort();
  await client.put("/phalanx/proxy/frontends/web", JSON.stringify({ name: "web", listen: `127.0.0.1:${port}`, protocol: "http", routes: [{ pool: "app" }] }));
  await client.put("/phalanx/proxy/backends/app/a", JSON.stringify({ address: `127.0.0.1:${a.port}` }));

  const runtime = new ProxyRuntime({ logger: pino({ level: "silent" }), factories: BUILTIN_FRONTEND_FACTORIES, drainGraceMs: 1000 });
  t.after(() => runtime.stop(500));
  const source = new StoreConfigSource(kvWatchClientFrom(client));
  t.after(() => source.stop());
  const first = await source.start({ onConfig: (c) => void runtime.apply(c), onError: () => undefined });
  await runtime.apply(first);

  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const before = await get(port, agent);
  assert.match(before.body, /A/);

  await client.put("/phalanx/proxy/backends/app/b", JSON.stringify({ address: `127.0.0.1:${b.port}` }));
  await client.delete("/phalanx/proxy/backends/app/a");
  let after = before;
  await waitFor(async () => {
    after = await get(port, agent);
    return /B/.test(after.body);
  }, "traffic to move to backend B");
  assert.equal(after.localPort, before.localPort, "the client's keep-alive connection survived the change");
});
