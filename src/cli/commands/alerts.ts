// `phalanx alerts test`: asks the leader to send a test alert through every configured channel and
// prints each channel's outcome. Takes the admin token (it makes the cluster talk to the outside).
// Exit code 1 when any channel failed, so scripts can check a new channel.
import type { Command } from "commander";
import { printTable, runClientCommand, withConnectionOptions } from "../client-options.js";
import type { ConnectionOptions } from "../client-options.js";

interface ChannelResult {
  channel: string;
  kind: string;
  ok: boolean;
  error?: string;
  elapsedMs: number;
}

/** Adds `phalanx alerts`. */
export function registerAlerts(program: Command): void {
  const alerts = program.command("alerts").description("Alert delivery (webhook, exec, e-mail)");
  withConnectionOptions(alerts.command("test").description("Send a test alert through every configured channel and show the results"))
    .action(async (o: ConnectionOptions) => runClientCommand(o, async (client) => {
      const j = await client.call("POST", "/v3/phalanx/alerts/test", {}, false);
      const results = (j.results ?? []) as ChannelResult[];
      if (o.json) process.stdout.write(`${JSON.stringify(j, null, 2)}\n`);
      else if (results.length === 0) process.stdout.write("No alert channels are configured: add channels under `alerts:` in every node's config\n");
      else printTable(["CHANNEL", "KIND", "RESULT", "TIME", "ERROR"], results.map((r) => [r.channel, r.kind, r.ok ? "delivered" : "FAILED", `${r.elapsedMs} ms`, r.error ?? ""]));
      if (results.some((r) => !r.ok)) process.exitCode = 1;
    }, "admin"));
}
