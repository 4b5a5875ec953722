// Service commands: `phalanx apply -f FILE [--dry-run]`, `services`, `service NAME`, `delete service
// NAME`, `drain NODE`, `undrain NODE`, `rollout status|undo NAME`, `events [--follow]`, `failover
// SERVICE [--to NODE]` (planned switchover of an active-standby service). Reading needs
// the client token; changing needs the admin token. The server validates and applies; the file is
// also validated here first, so errors name the file's line and column without a round trip.
import type { Command } from "commander";
import { readFile } from "node:fs/promises";
import type { PhalanxClient } from "../../client/client.js";
import { ConfigError } from "../../config/errors.js";
import { loadServiceFile } from "../../config/service-file.js";
import { printTable, runClientCommand, withConnectionOptions } from "../client-options.js";
import type { ConnectionOptions } from "../client-options.js";
import { CLUSTER_VIP_ROLE } from "../../server/services/cluster-vip.js";

/** An instance as `GET /v3/phalanx/services` returns it. */
export interface InstanceRow {
  readonly id: string;
  readonly node: number;
  readonly nodeName: string | null;
  readonly placed: boolean;
  readonly revision: string;
  readonly state: string;
  readonly healthy: boolean;
  readonly restarts: number;
  readonly startedAtMs: number | null;
  readonly ports: Readonly<Record<string, number>>;
  readonly host: string | null;
  readonly message: string | null;
  /** Active-standby with `position`: the app's last reported position (null: its command failed). */
  readonly position?: number | null;
}

/** A service as `GET /v3/phalanx/services` returns it. */
export interface ServiceRow {
  readonly name: string;
  readonly revision: string | null;
  readonly replicas: number;
  readonly healthy: number;
  readonly expose: string | null;
  readonly rollout: { readonly haltedRevision: string | null; readonly previousRevision: string | null; readonly current: number; readonly outdated: number };
  readonly instances: readonly InstanceRow[];
  /** Active-standby services only: the holder of the active role, its fencing token, flap damping. */
  readonly failover?: {
    readonly active: { readonly node: number; readonly token: number; readonly promotedAtMs: number } | null;
    readonly damping: string;
    readonly lastPromotion: { readonly node: number; readonly atMs: number; readonly reason: string } | null;
    readonly switchover: { readonly to: number } | null;
  };
}

interface EventRow {
  readonly seq: number;
  readonly atMs: number;
  readonly kind: string;
  readonly type: string;
  readonly message: string;
}

/** Every service of the cluster. */
export async function listServices(client: PhalanxClient): Promise<ServiceRow[]> {
  const j = await client.call("GET", "/v3/phalanx/services", undefined, true);
  return (j.services ?? []) as unknown as ServiceRow[];
}

const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
const dur = (ms: number): string => (ms < 1000 ? `${ms}ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)}s` : ms < 7_200_000 ? `${Math.round(ms / 60_000)}m` : `${Math.round(ms / 3_600_000)}h`);

async function findService(client: PhalanxClient, name: string): Promise<ServiceRow> {
  const s = (await listServices(client)).find((x) => x.name === name);
  if (s === undefined) throw new Error(`No service "${name}": \`phalanx services\` lists them`);
  return s;
}

/** Adds the service commands. */
export function registerServices(program: Command): void {
  withConnectionOptions(program.command("apply").description("Apply a service file (one service, or several under services:): all of it or nothing; needs the admin token")
    .requiredOption("-f, --file <file>", "service file (YAML); see examples/services.yaml")
    .option("--dry-run", "print the scheduler's plan for this file and change nothing (client token enough)")
    .addHelpText("after", "\nChanging run, cwd, env, user, ports, healthCheck, restart or stop rolls the instances (update.maxSurge at a time, each new one healthy\nbefore an old one stops); replicas, placement, update and expose change without a roll-out. Exit code 1 with every problem on a bad file."))
    .action(async (o: ConnectionOptions & { file: string; dryRun?: boolean }) => {
      try {
        await loadServiceFile(o.file);
      } catch (err) {
        process.stderr.write(`${err instanceof ConfigError ? err.message : `phalanx: ${(err as Error).message}`}\n`);
        process.exitCode = 1;
        return;
      }
      const text = await readFile(o.file, "utf8");
      await runClientCommand(o, async (client) => {
        if (o.dryRun === true) {
          const plan = await client.call("POST", "/v3/phalanx/services/plan", { file: o.file, text }, true);
          if (o.json) return print(plan.json);
          process.stdout.write(`Dry run, nothing changed. The first round of the plan:\n${(plan.lines as string[]).join("\n")}\n`);
          return;
        }
        const r = await client.call("POST", "/v3/phalanx/services/apply", { file: o.file, text }, false);
        if (o.json) return print(r);
        for (const a of r.applied as { name: string; revision: string; change: string }[]) process.stdout.write(`${a.name}: ${a.change} (revision ${a.revision})\n`);
      }, o.dryRun === true ? "client" : "admin");
    });

  withConnectionOptions(program.command("services").description("List services: replicas wanted, healthy, roll-out, exposed address"))
    .action(async (o: ConnectionOptions) => runClientCommand(o, async (client) => {
      const rows = await listServices(client);
      if (o.json) return print({ services: rows });
      printTable(["NAME", "REVISION", "WANTED", "HEALTHY", "ROLLOUT", "EXPOSE"], rows.map((s) => [
        s.name, s.revision ?? "(deleted)", String(s.replicas), String(s.healthy), rolloutText(s), s.expose ?? "-",
      ]));
    }));

  withConnectionOptions(program.command("service").argument("<name>").description("Show a service's instances: node, state, health, restarts, uptime, port"))
    .action(async (name: string, o: ConnectionOptions) => runClientCommand(o, async (client) => {
      const s = await findService(client, name);
      if (o.json) return print(s);
      process.stdout.write(`${s.name} revision ${s.revision ?? "(deleted)"}: wants ${s.replicas}, ${s.healthy} healthy; roll-out: ${rolloutText(s)}\n`);
      const now = Date.now();
      if (s.failover !== undefined) process.stdout.write(failoverText(s, now));
      printTable(["INSTANCE", "NODE", "STATE", "HEALTH", "RESTARTS", "UPTIME", "PORT", "REVISION", "MESSAGE"], s.instances.map((i) => [
        i.id, i.nodeName ?? String(i.node), i.state, i.healthy ? "healthy" : "-", String(i.restarts),
        i.startedAtMs === null ? "-" : dur(Math.max(0, now - i.startedAtMs)), portText(i), i.revision, i.message ?? "",
      ]));
    }));

  const del = program.command("delete").description("Delete a cluster object");
  withConnectionOptions(del.command("service").argument("<name>").description("Delete a service: its instances stop on every node; needs the admin token"))
    .action(async (name: string, o: ConnectionOptions) => runClientCommand(o, async (client) => {
      const r = await client.call("POST", "/v3/phalanx/services/delete", { name }, false);
      if (o.json) return print(r);
      process.stdout.write(`Deleted service ${name}: its instances are stopping\n`);
    }, "admin"));

  for (const [cmd, path, text] of [["drain", "drain", "Move a node's instances away (each replacement healthy first, then the old one stops); it takes no new ones"], ["undrain", "undrain", "Let a drained node take instances again"]] as const) {
    withConnectionOptions(program.command(cmd).argument("<node>", "node name or id").description(`${text}; needs the admin token`))
      .action(async (node: string, o: ConnectionOptions) => runClientCommand(o, async (client) => {
        const r = await client.call("POST", `/v3/phalanx/nodes/${path}`, { node }, false);
        if (o.json) return print(r);
        process.stdout.write(cmd === "drain" ? `Node ${String(r.node)} draining: \`phalanx services\` shows the moves\n` : `Node ${String(r.node)} takes instances again\n`);
      }, "admin"));
  }

  withConnectionOptions(program.command("failover").argument("<service>").option("--to <node>", "node name or id to move the active to (default: the best healthy standby elsewhere)")
    .description("Planned switchover of an active-standby service: the active is demoted (demote hook, stop), and only once it stopped acting the standby is promoted; `phalanx failover @cluster-vip [--to NODE]` moves the cluster VIP (the address leaves its holder before another node takes it); needs the admin token"))
    .action(async (service: string, o: ConnectionOptions & { to?: string }) => runClientCommand(o, async (client) => {
      const r = await client.call("POST", "/v3/phalanx/services/failover", { service, ...(o.to !== undefined ? { to: o.to } : {}) }, false);
      if (o.json) return print(r);
      if (service === CLUSTER_VIP_ROLE) process.stdout.write(`Cluster VIP: moving from node ${String(r.from)} (token ${String(r.token)}) to node ${String(r.to)}; \`phalanx status\` shows when it is done\n`);
      else process.stdout.write(`${service}: switching the active from node ${String(r.from)} (token ${String(r.token)}) to node ${String(r.to)}; \`phalanx service ${service}\` shows when it is done\n`);
    }, "admin"));

  const rollout = program.command("rollout").description("Roll-outs of a service");
  withConnectionOptions(rollout.command("status").argument("<name>").description("Show a service's roll-out: current and outdated instances, halted revision"))
    .action(async (name: string, o: ConnectionOptions) => runClientCommand(o, async (client) => {
      const s = await findService(client, name);
      if (o.json) return print({ name: s.name, revision: s.revision, ...s.rollout });
      process.stdout.write(`${s.name} revision ${s.revision}: ${rolloutText(s)}\n`);
      if (s.rollout.haltedRevision !== null) process.stdout.write(`Halted: instances of revision ${s.rollout.haltedRevision} never got healthy; the old instances keep serving. Fix the spec and apply it, or \`phalanx rollout undo ${name}\`\n`);
    }));
  withConnectionOptions(rollout.command("undo").argument("<name>").description("Go back to the service's previous spec (rolls its instances back); needs the admin token"))
    .action(async (name: string, o: ConnectionOptions) => runClientCommand(o, async (client) => {
      const r = await client.call("POST", "/v3/phalanx/rollouts/undo", { name }, false);
      if (o.json) return print(r);
      process.stdout.write(`${name}: back to revision ${String(r.revision)} (from ${String(r.previousRevision)})\n`);
    }, "admin"));

  withConnectionOptions(program.command("events").description("Show the cluster's recent events: nodes up/down/draining, instances started/healthy/failed/replaced, roll-out steps")
    .option("-f, --follow", "keep printing new events until interrupted")
    .option("--limit <n>", "how many recent events to show first", "50"))
    .action(async (o: ConnectionOptions & { follow?: boolean; limit: string }) => runClientCommand(o, async (client) => {
      let after = 0;
      let limit = Number(o.limit);
      for (;;) {
        const j = await client.call("GET", `/v3/phalanx/events?after=${after}&limit=${limit}`, undefined, true);
        const events = (j.events ?? []) as unknown as EventRow[];
        for (const e of events) {
          process.stdout.write(o.json ? `${JSON.stringify(e)}\n` : `${new Date(e.atMs).toISOString()}  ${e.type.padEnd(20)} ${e.message}\n`);
          after = Math.max(after, e.seq);
        }
        if (o.follow !== true) return;
        limit = 1000;
        await new Promise((r) => setTimeout(r, 500));
      }
    }));
}

/** The failover lines of `phalanx service NAME`: who is active with which token, why a promotion is held back. */
function failoverText(s: ServiceRow, now: number): string {
  const f = s.failover!;
  const nodeName = (id: number): string => s.instances.find((i) => i.node === id)?.nodeName ?? String(id);
  const lines = [f.active === null
    ? "active: none (a promotion is pending, or held back: see damping)"
    : `active: node ${nodeName(f.active.node)}, fencing token ${f.active.token}, for ${dur(Math.max(0, now - f.active.promotedAtMs))}`];
  if (f.lastPromotion !== null) lines.push(`last promotion: node ${nodeName(f.lastPromotion.node)} ${dur(Math.max(0, now - f.lastPromotion.atMs))} ago (${f.lastPromotion.reason})`);
  if (f.switchover !== null) lines.push(`switchover to node ${nodeName(f.switchover.to)} in progress`);
  lines.push(`damping: ${f.damping}`);
  return `${lines.join("\n")}\n`;
}

function rolloutText(s: ServiceRow): string {
  if (s.rollout.haltedRevision !== null && s.rollout.haltedRevision === s.revision) return `halted (${s.rollout.outdated} old serving)`;
  if (s.rollout.outdated > 0) return `rolling (${s.rollout.current} new, ${s.rollout.outdated} old)`;
  return "done";
}

function portText(i: InstanceRow): string {
  const first = Object.values(i.ports)[0];
  return first === undefined ? "-" : `${i.host ?? ""}:${first}`;
}
