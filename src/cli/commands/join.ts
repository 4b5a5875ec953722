// `phalanx join ADDRESS --token T`: asks a cluster for a certificate and a member id, writes this
// node's files, then runs the node. It enters as a learner and the leader promotes it to a voter
// once caught up (keeping 3 or 5 voters).
import type { Command } from "commander";
import { mkdir } from "node:fs/promises";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { pino } from "pino";
import { request } from "undici";
import { writeFileAtomic } from "../../fsutil/atomic-file.js";
import { writeNodeCredentials, KEY_FILE_MODE } from "../../pki/files.js";
import { createNodeKeyRequest } from "../../pki/issue.js";
import { startNode } from "../../server/agent.js";
import { loadNodeConfig, renderNodeConfig } from "../../server/node-config.js";
import type { NodeConfigInput } from "../../server/node-config.js";

interface JoinOptions {
  readonly token: string;
  readonly dir: string;
  readonly name: string;
  readonly peerListen: string;
  readonly clientListen: string;
  readonly advertiseHost?: string;
  readonly start: boolean;
}

interface JoinAnswer {
  nodeId: number;
  clusterId: string;
  certPem: string;
  caCertPem: string;
  clientToken: string;
  adminToken: string;
  joinTokenHash: string;
  members: { id: number; name: string; peerAddress: string; clientAddress: string }[];
  raft: NodeConfigInput["raft"];
  /** The cluster's timing profile (absent from nodes older than profiles: default). */
  profile?: NodeConfigInput["profile"];
}

/** Adds `phalanx join`. */
export function registerJoin(program: Command): void {
  program
    .command("join")
    .description("Join an existing cluster through any member's client address, then run this node")
    .argument("<address>", "host:port of any member's client API")
    .requiredOption("--token <token>", "join token printed by `phalanx init`")
    .option("--dir <dir>", "directory for this node's files", "./phalanx-node")
    .option("--name <name>", "this node's name (default: the directory name)")
    .option("--peer-listen <host:port>", "address for peer (Raft) traffic", "127.0.0.1:7002")
    .option("--client-listen <host:port>", "address of the client API", "127.0.0.1:2380")
    .option("--advertise-host <host>", "host other nodes and clients use to reach this node (default: the listen host)")
    .option("--no-start", "write the files and exit instead of running the node")
    .action(async (address: string, o: JoinOptions) => {
      try {
        const file = await joinCluster(address, o);
        process.stdout.write(`Joined: config written to ${file}\n`);
        if (!o.start) return;
        const config = await loadNodeConfig(file);
        const node = await startNode(config, pino({ level: config.log.level }));
        const stop = (): void => void node.stop().then(() => process.exit(0));
        process.once("SIGTERM", stop);
        process.once("SIGINT", stop);
      } catch (err) {
        process.stderr.write(`phalanx: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}

async function joinCluster(address: string, o: JoinOptions): Promise<string> {
  const dir = resolve(o.dir);
  const name = o.name ?? dir.slice(dir.lastIndexOf("/") + 1);
  const advertise = (listen: string): string => (o.advertiseHost ? `${o.advertiseHost}:${listen.slice(listen.lastIndexOf(":") + 1)}` : listen);
  const peerAdvertise = advertise(o.peerListen);
  const clientAdvertise = advertise(o.clientListen);
  const host = peerAdvertise.slice(0, peerAdvertise.lastIndexOf(":"));
  const key = await createNodeKeyRequest();
  const res = await request(`http://${address}/v3/phalanx/join`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token: o.token, csr: key.csrPem, name, peerAddress: peerAdvertise, clientAddress: clientAdvertise, hostnames: isIP(host) ? ["localhost"] : [host, "localhost"], ips: isIP(host) ? [host, "127.0.0.1"] : ["127.0.0.1"] }),
    headersTimeout: 15_000,
  }).catch((err: Error) => {
    throw new Error(`Cannot reach ${address} to join: ${(err as { code?: string }).code ?? err.message}; check the address of a running member`);
  });
  const body = (await res.body.json()) as JoinAnswer & { message?: string };
  if (res.statusCode !== 200) throw new Error(`Cluster refused to add this node: ${body.message ?? res.statusCode}`);
  const pki = join(dir, "pki");
  await mkdir(pki, { recursive: true, mode: 0o700 });
  await writeNodeCredentials(pki, { certPem: body.certPem, keyPem: key.keyPem }, body.caCertPem);
  await writeFileAtomic(join(dir, "token"), `${body.clientToken}\n`, { mode: KEY_FILE_MODE });
  await writeFileAtomic(join(dir, "admin-token"), `${body.adminToken}\n`, { mode: KEY_FILE_MODE });
  const config: NodeConfigInput = {
    clusterId: body.clusterId,
    node: { id: body.nodeId, name, dataDir: "./data", peerListen: o.peerListen, peerAdvertise, clientListen: o.clientListen, clientAdvertise },
    pkiDir: "./pki",
    tokenFile: "./token",
    adminTokenFile: "./admin-token",
    joinTokenHash: body.joinTokenHash,
    members: body.members,
    joined: true,
    raft: body.raft,
    // The fencing lease and the failover controller's timings follow the cluster's profile too.
    ...(body.profile !== undefined ? { profile: body.profile } : {}),
  };
  const file = join(dir, "config.yaml");
  await writeFileAtomic(file, renderNodeConfig(config), { mode: KEY_FILE_MODE });
  return file;
}
