// `phalanx members [list|remove ID|promote ID]` and `phalanx transfer-leader ID`. Listing takes the
// client token; remove, promote and transfer-leader are cluster operations and take the admin token.
import type { Command } from "commander";
import { printTable, runClientCommand, withConnectionOptions } from "../client-options.js";
import type { ConnectionOptions } from "../client-options.js";

/** Adds `phalanx members` and `phalanx transfer-leader`. */
export function registerMembers(program: Command): void {
  const members = program.command("members").description("List, remove or promote members");
  withConnectionOptions(members.command("list", { isDefault: true }).description("List members with their addresses and voting role"))
    .action(async (o: ConnectionOptions) => runClientCommand(o, async (client) => {
      const j = await client.call("GET", "/v3/phalanx/members", undefined, true);
      const rows = (j.members ?? []) as { id: number; name: string; role: string; peerAddress: string; clientAddress: string }[];
      if (o.json) return void process.stdout.write(`${JSON.stringify(j, null, 2)}\n`);
      printTable(["ID", "NAME", "ROLE", "PEER ADDRESS", "CLIENT ADDRESS"], rows.map((m) => [String(m.id), m.name, m.role, m.peerAddress, m.clientAddress]));
    }));
  withConnectionOptions(members.command("remove").argument("<id>", "member id").description("Remove a member from the cluster"))
    .action(async (id: string, o: ConnectionOptions) => runClientCommand(o, async (client) => {
      await client.call("POST", "/v3/phalanx/members/remove", { id: Number(id) }, false);
      process.stdout.write(`Removed member ${id}\n`);
    }, "admin"));
  withConnectionOptions(members.command("promote").argument("<id>", "learner id").description("Make a learner a voter now (normally automatic)"))
    .action(async (id: string, o: ConnectionOptions) => runClientCommand(o, async (client) => {
      await client.call("POST", "/v3/phalanx/members/promote", { id: Number(id) }, false);
      process.stdout.write(`Promoted member ${id}\n`);
    }, "admin"));
  withConnectionOptions(program.command("transfer-leader").argument("<id>", "voter to become leader").description("Hand leadership to another voter"))
    .action(async (id: string, o: ConnectionOptions) => runClientCommand(o, async (client) => {
      await client.call("POST", "/v3/phalanx/transfer", { to: Number(id) }, false);
      process.stdout.write(`Transferring leadership to ${id}\n`);
    }, "admin"));
}
