// `phalanx logs SERVICE [--instance ID] [--follow]`: the output of a service's instances, from any
// node: the registry says which node runs each instance, and that node serves its own log files
// (GET /v3/phalanx/logs). With several instances, each line is prefixed with its instance id.
import type { Command } from "commander";
import type { PhalanxClient } from "../../client/client.js";
import { clientFrom, runClientCommand, withConnectionOptions } from "../client-options.js";
import type { ConnectionOptions } from "../client-options.js";
import { listServices } from "./services.js";

/** Pause between reads with --follow. */
const FOLLOW_POLL_MS = 500;

interface Source {
  readonly instance: string;
  readonly client: PhalanxClient;
  next: number | null;
}

/** Adds `phalanx logs`. */
export function registerLogs(program: Command): void {
  withConnectionOptions(program.command("logs").argument("<service>").description("Print a service's instance output (from the node running each instance)")
    .option("--instance <id>", "only this instance")
    .option("-f, --follow", "keep printing new output until interrupted")
    .option("--tail <bytes>", "how much of the end of each log to print first", "16384"))
    .action(async (name: string, o: ConnectionOptions & { instance?: string; follow?: boolean; tail: string }) => runClientCommand(o, async (client) => {
      const svc = (await listServices(client)).find((s) => s.name === name);
      if (svc === undefined) throw new Error(`No service "${name}": \`phalanx services\` lists them`);
      const nodes = ((await client.call("GET", "/v3/phalanx/nodes", undefined, true)).nodes ?? []) as { id: number; clientAddress: string }[];
      const instances = svc.instances.filter((i) => o.instance === undefined || i.id === o.instance);
      if (instances.length === 0) throw new Error(o.instance === undefined ? `Service "${name}" has no instances` : `Service "${name}" has no instance ${o.instance}: \`phalanx service ${name}\` lists them`);
      const sources: Source[] = [];
      try {
        for (const i of instances) {
          const address = nodes.find((n) => n.id === i.node)?.clientAddress;
          if (address === undefined) {
            process.stderr.write(`phalanx: instance ${i.id} is on node ${i.node}, which is not registered (down?): its log is not reachable\n`);
            continue;
          }
          sources.push({ instance: i.id, client: clientFrom({ ...o, endpoints: address }), next: null });
        }
        const prefix = sources.length > 1;
        for (;;) {
          for (const s of sources) {
            const query = `service=${encodeURIComponent(name)}&instance=${encodeURIComponent(s.instance)}${s.next === null ? `&tail=${Number(o.tail)}` : `&from=${s.next}`}`;
            try {
              const r = await s.client.call("GET", `/v3/phalanx/logs?${query}`, undefined, true);
              s.next = Number(r.next);
              const text = String(r.text ?? "");
              if (text !== "") process.stdout.write(prefix ? text.split("\n").filter((l) => l !== "").map((l) => `${s.instance} | ${l}\n`).join("") : text);
            } catch (err) {
              if (o.follow !== true) process.stderr.write(`phalanx: ${s.instance}: ${(err as Error).message}\n`);
            }
          }
          if (o.follow !== true) return;
          await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
        }
      } finally {
        await Promise.all(sources.map((s) => s.client.close()));
      }
    }));
}
