// Options shared by the commands that talk to a cluster: where it is and how to authenticate.
// Two tokens: the client token for the KV API and read-only views, the admin token for cluster
// operations (members remove/promote, transfer-leader, snapshot save); `phalanx init` writes them to
// <dir>/token and <dir>/admin-token.
import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { PhalanxClient } from "../client/client.js";

/** The parsed connection options. */
export interface ConnectionOptions {
  readonly endpoints?: string;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly adminToken?: string;
  readonly adminTokenFile?: string;
  readonly json?: boolean;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/** What a command needs: the client token, or the admin token for cluster operations. */
export type CommandAccess = "client" | "admin";

/** Adds --endpoints, --token, --token-file, --admin-token, --admin-token-file, TLS files and --json to a command. */
export function withConnectionOptions(cmd: Command): Command {
  return cmd
    .option("--endpoints <list>", "comma-separated host:port of client APIs (default: $PHALANX_ENDPOINTS or 127.0.0.1:2379)")
    .option("--token <token>", "cluster client token (default: $PHALANX_TOKEN)")
    .option("--token-file <file>", "file holding the client token (<dir>/token of `phalanx init`)")
    .option("--admin-token <token>", "admin token, for cluster operations (default: $PHALANX_ADMIN_TOKEN)")
    .option("--admin-token-file <file>", "file holding the admin token (<dir>/admin-token of `phalanx init`)")
    .option("--ca <file>", "cluster CA certificate: talk TLS to nodes that serve clients over TLS (default: $PHALANX_CA)")
    .option("--cert <file>", "client certificate from the cluster CA (authenticates instead of the token)")
    .option("--key <file>", "private key of --cert")
    .option("--json", "print JSON for scripts instead of a table");
}

/** The admin token from the options or the environment, or undefined. */
export function adminTokenFrom(o: ConnectionOptions): string | undefined {
  return o.adminToken ?? (o.adminTokenFile ? readFileSync(o.adminTokenFile, "utf8").trim() : process.env.PHALANX_ADMIN_TOKEN);
}

/** Builds a client from the options and the environment; an "admin" client authenticates with the admin token. */
export function clientFrom(o: ConnectionOptions, access: CommandAccess = "client"): PhalanxClient {
  const endpoints = (o.endpoints ?? process.env.PHALANX_ENDPOINTS ?? "127.0.0.1:2379").split(",").map((s) => s.trim()).filter((s) => s !== "");
  const clientToken = (): string | undefined => o.token ?? (o.tokenFile ? readFileSync(o.tokenFile, "utf8").trim() : process.env.PHALANX_TOKEN);
  // The admin token authorizes client calls too, so a command that needs it sends only it.
  const token = access === "admin" ? adminTokenFrom(o) : clientToken();
  if (access === "admin" && token === undefined) {
    throw new Error("This is a cluster operation and needs the admin token: pass --admin-token, --admin-token-file <dir>/admin-token, or set PHALANX_ADMIN_TOKEN");
  }
  const ca = o.ca ?? process.env.PHALANX_CA;
  const tls = ca ? { ca: readFileSync(ca, "utf8"), ...(o.cert ? { cert: readFileSync(o.cert, "utf8") } : {}), ...(o.key ? { key: readFileSync(o.key, "utf8") } : {}) } : undefined;
  return new PhalanxClient({ endpoints, ...(token ? { token } : {}), ...(tls ? { tls } : {}) });
}

/** Prints rows as an aligned table. */
export function printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  process.stdout.write(`${line(headers)}\n${rows.map(line).join("\n")}${rows.length > 0 ? "\n" : ""}`);
}

/** Runs a command body, printing a failure as one line on stderr with exit code 1. */
export async function runClientCommand(o: ConnectionOptions, body: (client: PhalanxClient) => Promise<void>, access: CommandAccess = "client"): Promise<void> {
  let client: PhalanxClient;
  try {
    client = clientFrom(o, access);
  } catch (err) {
    process.stderr.write(`phalanx: ${(err as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  try {
    await body(client);
  } catch (err) {
    process.stderr.write(`phalanx: ${(err as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await client.close();
  }
}
