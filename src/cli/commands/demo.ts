// `phalanx demo`: the whole promise on one machine. A 3-node cluster on 127.0.0.1 in a temporary
// directory, the bundled app (demo/app.mjs) deployed as an active/active service behind every
// node's balancer and as an active/standby singleton, a live status view, and hints of what to
// try. `--check` runs the scripted tour instead (demo-check.ts). Ctrl-C, SIGTERM or SIGHUP stop
// everything and remove the directory; a demo killed outright is cleaned up by its watchdog
// (demo-cluster.ts).
import type { Command } from "commander";
import { PhalanxClient } from "../../client/client.js";
import { runDemoCheck } from "./demo-check.js";
import { DemoCluster, DemoError } from "./demo-cluster.js";
import { applyDemoServices, waitServicesReady } from "./demo-services.js";
import { Traffic } from "./demo-traffic.js";
import { DemoObserver, DEMO_SINGLETON, DEMO_WEB, InPlaceWriter, renderStatus, summaryLine } from "./demo-view.js";

/** How often the live view reads the cluster. */
export const DEMO_REFRESH_MS = 1000;
/** A node that died while the live demo runs is started again after this long (to show the rejoin). */
export const DEMO_RESTART_AFTER_MS = 15_000;
/** Background requests per second of the live demo (so the served counts and a failover show). */
export const DEMO_LIVE_RATE_PER_SEC = 5;

interface DemoOptions {
  check?: boolean;
  port: string;
  singletonPort: string;
  traffic: boolean;
  keep?: boolean;
}

function portOption(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new DemoError("port_in_use", `${flag} ${value} is not a port: give a number from 1 to 65535, or 0 for a free one`);
  return n;
}

/** Adds `phalanx demo`. */
export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("Start a 3-node cluster on this machine with a sample app (active/active and active/standby), show it live; --check runs a scripted failover tour")
    .option("--check", "run the scripted tour (traffic, kill -9 of a node, failover, restart, rejoin), print a summary and, last, one JSON line; exit 0 only if every step held")
    .option("--port <port>", "the active/active app's port on every node's balancer (0: a free one)", "0")
    .option("--singleton-port <port>", "the singleton's port on every node's balancer (0: a free one)", "0")
    .option("--no-traffic", "do not send the live demo's background requests")
    .option("--keep", "keep the temporary directory (node logs, data) after stopping")
    .addHelpText("after", "\nNodes: n1-n3 on 127.0.0.1 (client API and peer ports chosen free); node N's balancer listens on 127.0.0.N.\nOne demo at a time (lock: $TMPDIR/phalanx-demo.lock). Linux only (the balancers use 127.0.0.2 and 127.0.0.3).")
    .action(async (o: DemoOptions) => {
      let cluster: DemoCluster | null = null;
      let client: PhalanxClient | null = null;
      let stopping = false;
      const stop = async (code: number): Promise<never> => {
        if (!stopping) {
          stopping = true;
          await client?.close().catch(() => undefined);
          await cluster?.stop({ keepFiles: o.keep === true });
          if (o.keep === true && cluster !== null) process.stderr.write(`Kept ${cluster.root}\n`);
        }
        process.exit(code);
      };
      // Ctrl-C ends the live demo normally (exit 0); it interrupts a --check, which then did not hold (130).
      for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(sig, () => void stop(sig === "SIGINT" && o.check !== true ? 0 : sig === "SIGINT" ? 130 : 1));
      try {
        const webPort = portOption(o.port, "--port");
        const singletonPort = portOption(o.singletonPort, "--singleton-port");
        if (!o.check) process.stdout.write("Starting a 3-node cluster on 127.0.0.1 ...\n");
        cluster = await DemoCluster.start({ webPort, singletonPort });
        client = new PhalanxClient({ endpoints: cluster.nodes.map((n) => n.clientAddress), token: cluster.files.adminToken, timeoutMs: 2000 });
        const serviceFile = await applyDemoServices(client, cluster);
        await waitServicesReady(client, cluster);
        if (o.check) {
          const say = (line: string): void => void process.stdout.write(`${line}\n`);
          say(intro(cluster, serviceFile).join("\n"));
          const result = await runDemoCheck(client, cluster, say);
          process.stdout.write(`${JSON.stringify(result)}\n`);
          return await stop(result.ok ? 0 : 1);
        }
        process.stdout.write(`${[...intro(cluster, serviceFile), ...hints(cluster)].join("\n")}\n`);
        await liveView(client, cluster, o.traffic);
      } catch (err) {
        const message = err instanceof DemoError ? err.message : `The demo stopped: ${(err as Error).message}`;
        process.stderr.write(`phalanx: ${message}\n`);
        if (o.check) process.stdout.write(`${JSON.stringify({ requests: 0, failed: 0, failover_ms: null, rejoined: false, ok: false, error: message })}\n`);
        await stop(err instanceof DemoError && err.code !== "start_failed" && err.code !== "apply_failed" ? 2 : 1);
      }
    });
}

function intro(cluster: DemoCluster, serviceFile: string): string[] {
  return [
    `Phalanx demo: cluster ${cluster.files.clusterId}, 3 nodes, files in ${cluster.root}`,
    ...cluster.nodes.map((n) => `  ${n.name}  pid ${String(n.child?.pid).padEnd(7)} client API http://${n.clientAddress}  balancer ${n.proxyHost}  log ${n.logFile}`),
    `  ${DEMO_WEB} (3 replicas, active/active):   ${cluster.webAddresses().map((a) => `http://${a}/`).join("  ")}`,
    `  ${DEMO_SINGLETON} (active/standby):         ${cluster.singletonAddresses().map((a) => `http://${a}/`).join("  ")}`,
    `  services file: ${serviceFile}`,
  ];
}

function hints(cluster: DemoCluster): string[] {
  const env = `export PHALANX_ENDPOINTS=${cluster.nodes.map((n) => n.clientAddress).join(",")} PHALANX_TOKEN=${cluster.files.clientToken} PHALANX_ADMIN_TOKEN=${cluster.files.adminToken}`;
  return [
    "",
    "Try it, in another terminal:",
    `  ${env}`,
    `  curl http://${cluster.webAddresses()[0]}/          # answered by one of the 3 replicas, round-robin`,
    `  kill -9 <pid of a node above>                  # a crash: watch its instances move and the app keep answering; the demo restarts it after ${DEMO_RESTART_AFTER_MS / 1000} s`,
    `  npx phalanx failover ${DEMO_SINGLETON}                  # move the singleton's active role to its standby`,
    "  npx phalanx drain n2 && npx phalanx undrain n2    # move n2's instances away, then let it take some again",
    "  npx phalanx status; npx phalanx services; npx phalanx events --follow",
    `  open http://${cluster.nodes[0]!.clientAddress}/dashboard   # the web dashboard (any node): sign in with the PHALANX_ADMIN_TOKEN above`,
    "Ctrl-C stops the cluster and removes its files.",
    "",
  ];
}

/** Redraws the status once a second until a signal stops the demo. */
async function liveView(client: PhalanxClient, cluster: DemoCluster, withTraffic: boolean): Promise<void> {
  const observer = new DemoObserver(client, cluster);
  const traffic = withTraffic ? new Traffic([...cluster.webAddresses()], DEMO_LIVE_RATE_PER_SEC, 1) : null;
  const tty = process.stdout.isTTY === true;
  const writer = tty ? new InPlaceWriter(process.stdout) : null;
  let lastSummary = "";
  for (;;) {
    for (const n of cluster.nodes) {
      if (n.child === null && n.exitedAtMs !== null && Date.now() - n.exitedAtMs >= DEMO_RESTART_AFTER_MS) {
        const pid = cluster.restart(n.id);
        if (writer === null) process.stdout.write(`restarted ${n.name} (pid ${pid}) ${DEMO_RESTART_AFTER_MS / 1000} s after it died\n`);
      }
    }
    const events = await observer.newEvents().catch(() => []);
    const s = await observer.snapshot();
    if (writer !== null) {
      writer.draw(renderStatus(s, cluster, observer.events, traffic));
    } else {
      // Plain lines: each new event, and the summary whenever it changes.
      for (const e of events) process.stdout.write(`event ${e}\n`);
      const line = summaryLine(s, cluster);
      if (line.slice(9) !== lastSummary) process.stdout.write(`${line}\n`);
      lastSummary = line.slice(9);
    }
    await new Promise((r) => setTimeout(r, DEMO_REFRESH_MS));
  }
}
