// The two services the demo deploys, both running the bundled app (demo/app.mjs): `web`, three
// active replicas behind every node's balancer, and `singleton`, one active instance with a warm
// standby (mode active-standby). Written as a service file, applied as `phalanx apply -f` would.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PhalanxClient } from "../../client/client.js";
import { DemoError } from "./demo-cluster.js";
import type { DemoCluster } from "./demo-cluster.js";
import { listServices } from "./services.js";
import { DEMO_SINGLETON, DEMO_WEB } from "./demo-view.js";

/** The bundled app: `demo/app.mjs` at the package root (the same path from src/ and from dist/). */
export const DEMO_APP_FILE = fileURLToPath(new URL("../../../demo/app.mjs", import.meta.url));

/** How long the services get to become healthy. */
export const DEMO_READY_DEADLINE_MS = 60_000;

/** The service file for a demo whose balancers serve web and the singleton on these ports. */
export function demoServiceFile(cluster: { readonly webPort: number; readonly singletonPort: number }): string {
  const run = `run: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(DEMO_APP_FILE)}] }`;
  const common = [
    `    ports: [{ name: http }]`,
    `    healthCheck: { type: http, path: /healthz, intervalMs: 500, timeoutMs: 400, rise: 1, fall: 2, startGraceMs: 5000 }`,
    `    stop: { timeoutMs: 3000 }`,
  ];
  return [
    "# Written by `phalanx demo`: the bundled app as an active/active service and as a singleton.",
    "services:",
    `  - name: ${DEMO_WEB}`,
    `    ${run}`,
    `    env: { DEMO_SERVICE: ${DEMO_WEB} }`,
    "    replicas: 3",
    ...common,
    // Spread over the nodes' zones, but two may share a node: a drained or dead node's replica then
    // has somewhere to go, and the service keeps its three replicas on two nodes.
    "    placement: { spreadBy: zone, maxPerNode: 2 }",
    `    expose: { listen: "127.0.0.1:${cluster.webPort}", protocol: http }`,
    `  - name: ${DEMO_SINGLETON}`,
    `    ${run}`,
    `    env: { DEMO_SERVICE: ${DEMO_SINGLETON} }`,
    "    mode: active-standby",
    "    standbys: 1",
    "    standby: warm",
    ...common,
    `    expose: { listen: "127.0.0.1:${cluster.singletonPort}", protocol: http }`,
    "",
  ].join("\n");
}

/** Waits for every node to register, writes the service file into the demo's directory and applies it; returns the file's path. */
export async function applyDemoServices(client: PhalanxClient, cluster: DemoCluster): Promise<string> {
  // Every node registered first: placed while only some are up, web would double up on those.
  const start = Date.now();
  for (;;) {
    const j = await client.call("GET", "/v3/phalanx/nodes", undefined, true).catch(() => ({ nodes: [] }));
    if (((j.nodes ?? []) as unknown[]).length >= cluster.nodes.length) break;
    if (Date.now() - start > DEMO_READY_DEADLINE_MS) throw new DemoError("start_failed", `Not every demo node registered within ${DEMO_READY_DEADLINE_MS} ms; the node logs are under ${cluster.root}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const file = join(cluster.root, "services.yaml");
  const text = demoServiceFile(cluster);
  await writeFile(file, text);
  try {
    await client.call("POST", "/v3/phalanx/services/apply", { file, text }, false);
  } catch (err) {
    throw new DemoError("apply_failed", `The demo's services were refused: ${(err as Error).message}`, { cause: err });
  }
  return file;
}

/** Waits until web has 3 healthy instances, the singleton all of its instances healthy, and every balancer answers. */
export async function waitServicesReady(client: PhalanxClient, cluster: DemoCluster, deadlineMs = DEMO_READY_DEADLINE_MS): Promise<void> {
  const start = Date.now();
  let last = "no answer yet";
  for (;;) {
    const services = await listServices(client).catch((err: Error) => {
      last = err.message;
      return [];
    });
    const web = services.find((s) => s.name === DEMO_WEB);
    const single = services.find((s) => s.name === DEMO_SINGLETON);
    const healthy = web !== undefined && web.healthy >= 3 && single !== undefined && single.instances.length >= 1 && single.healthy >= single.instances.length;
    if (healthy) {
      const answers = await Promise.all([...cluster.webAddresses(), ...cluster.singletonAddresses()].map((a) => fetch(`http://${a}/`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status === 200, () => false)));
      if (answers.every(Boolean)) return;
      last = "a balancer does not answer yet";
    } else {
      last = `${web?.healthy ?? 0}/3 web instances healthy, ${single?.healthy ?? 0}/${single?.instances.length ?? "?"} singleton instances healthy`;
    }
    if (Date.now() - start > deadlineMs) throw new DemoError("start_failed", `The demo's services were not ready within ${deadlineMs} ms (${last}); the node logs are under ${cluster.root}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
