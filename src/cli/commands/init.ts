// `phalanx init`: makes a new one-node cluster (CA, node certificate, client token, admin token,
// join token, config file). More nodes then come with `phalanx join`.
import type { Command } from "commander";
import { resolve } from "node:path";
import { writeClusterFiles } from "../cluster-files.js";

interface InitOptions {
  readonly dir: string;
  readonly name: string;
  readonly peerListen: string;
  readonly clientListen: string;
  readonly advertiseHost?: string;
}

/** Adds `phalanx init`. */
export function registerInit(program: Command): void {
  program
    .command("init")
    .description("Create a new cluster: CA, this node's certificate, a client token, an admin token, a join token and a config file")
    .option("--dir <dir>", "directory for this node's files (config.yaml, pki/, data/)", "./phalanx")
    .option("--name <name>", "this node's name", "n1")
    .option("--peer-listen <host:port>", "address for peer (Raft) traffic", "127.0.0.1:7001")
    .option("--client-listen <host:port>", "address of the client API", "127.0.0.1:2379")
    .option("--advertise-host <host>", "host other nodes and clients use to reach this node (default: the listen host)")
    .action(async (o: InitOptions) => {
      const dir = resolve(o.dir);
      const advertise = (listen: string): string => (o.advertiseHost ? `${o.advertiseHost}:${listen.slice(listen.lastIndexOf(":") + 1)}` : listen);
      const files = await writeClusterFiles(resolve(dir, ".."), [
        { id: 1, name: o.name, dirName: dir.slice(dir.lastIndexOf("/") + 1), peerListen: o.peerListen, peerAdvertise: advertise(o.peerListen), clientListen: o.clientListen, clientAdvertise: advertise(o.clientListen) },
      ]);
      const config = files.configFiles.get(1)!;
      process.stdout.write([
        `Created cluster ${files.clusterId} in ${dir}`,
        "",
        `Start this node:     phalanx agent --config ${config}`,
        `Add another node:    phalanx join ${advertise(o.clientListen)} --token ${files.joinToken} --dir ./<name>`,
        `Client token:        ${files.clientToken}   (also in ${dir}/token; KV, leases, watches, status)`,
        `Admin token:         ${files.adminToken}   (also in ${dir}/admin-token; members, transfer-leader, snapshot)`,
        "",
        "Keep the join and admin tokens secret: the join token lets a machine become a member of this",
        "cluster; the admin token changes its membership and exports its data.",
        "",
      ].join("\n"));
    });
}
