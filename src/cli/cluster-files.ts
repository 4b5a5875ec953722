// Writes the files of a new cluster's nodes: the CA, each node's certificate, the client token, the
// admin token, the join token's hash and a config file per node. Shared by `phalanx init` (one node) and
// `phalanx dev` (several nodes on 127.0.0.1).
import { randomBytes, randomUUID } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { writeFileAtomic } from "../fsutil/atomic-file.js";
import { createClusterCa } from "../pki/ca.js";
import type { ClusterCa } from "../pki/ca.js";
import { writeClusterCa, writeNodeCredentials, KEY_FILE_MODE } from "../pki/files.js";
import { issueNodeCertificate } from "../pki/issue.js";
import { createJoinToken } from "../pki/token.js";
import { renderNodeConfig } from "../server/node-config.js";
import type { NodeConfigInput } from "../server/node-config.js";

/** One node to create. */
export interface NodeSpec {
  readonly id: number;
  readonly name: string;
  /** Directory name under the root (default: the node's name); `init --dir ./x --name web1` differ. */
  readonly dirName?: string;
  readonly peerListen: string;
  readonly peerAdvertise: string;
  readonly clientListen: string;
  readonly clientAdvertise: string;
}

/** What was written. */
export interface ClusterFiles {
  readonly clusterId: string;
  readonly clientToken: string;
  /** Token for cluster operations (members, transfer, snapshot); also authorizes client calls. */
  readonly adminToken: string;
  readonly joinToken: string;
  /** Config file per node id. */
  readonly configFiles: ReadonlyMap<number, string>;
  /** The CA (certificate and key), for issuing client certificates in tests and tools. */
  readonly ca: ClusterCa;
}

function hostOf(address: string): string {
  return address.startsWith("[") ? address.slice(1, address.indexOf("]")) : address.slice(0, address.lastIndexOf(":"));
}

/** Options of writeClusterFiles. */
export interface ClusterFileOptions {
  readonly clientTls?: boolean;
  readonly alerts?: NodeConfigInput["alerts"];
  /** The node config's timing profile (`profile:`); left out of the file when not given. */
  readonly profile?: NodeConfigInput["profile"];
  /** Per node: labels, node lease TTL and the services section (tests place services on labelled nodes). */
  readonly nodeExtra?: (node: NodeSpec) => {
    labels?: Record<string, string>; leaseTtlMs?: number; services?: NodeConfigInput["services"]; proxy?: NodeConfigInput["proxy"];
    fronts?: NodeConfigInput["fronts"]; clusterVip?: NodeConfigInput["clusterVip"];
  };
}

/** Creates `root/<dirName or name>/{config.yaml,pki/,data/,token,admin-token}` for every node. */
export async function writeClusterFiles(root: string, nodes: readonly NodeSpec[], raft?: NodeConfigInput["raft"], options: ClusterFileOptions = {}): Promise<ClusterFiles> {
  const clusterId = `c${randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const ca: ClusterCa = await createClusterCa({ clusterId });
  const clientToken = randomBytes(24).toString("base64url");
  const adminToken = randomBytes(24).toString("base64url");
  const join_ = createJoinToken();
  const members = nodes.map((n) => ({ id: n.id, name: n.name, peerAddress: n.peerAdvertise, clientAddress: n.clientAdvertise }));
  const configFiles = new Map<number, string>();
  for (const n of nodes) {
    const dir = join(root, n.dirName ?? n.name);
    const pki = join(dir, "pki");
    await mkdir(pki, { recursive: true, mode: 0o700 });
    const hosts = [...new Set(["localhost", hostOf(n.peerAdvertise), hostOf(n.clientAdvertise)])];
    const creds = await issueNodeCertificate(ca, { nodeId: n.id, hostnames: hosts.filter((h) => isIP(h) === 0), ips: [...new Set(["127.0.0.1", ...hosts.filter((h) => isIP(h) !== 0)])] });
    // Every bootstrap voter holds the CA key, so whichever becomes leader can store it for joins.
    await writeClusterCa(pki, ca);
    await writeNodeCredentials(pki, creds);
    await writeFileAtomic(join(dir, "token"), `${clientToken}\n`, { mode: KEY_FILE_MODE });
    await writeFileAtomic(join(dir, "admin-token"), `${adminToken}\n`, { mode: KEY_FILE_MODE });
    const extra = options.nodeExtra?.(n) ?? {};
    const config: NodeConfigInput = {
      clusterId,
      ...(options.profile !== undefined ? { profile: options.profile } : {}),
      node: {
        id: n.id, name: n.name, dataDir: "./data", peerListen: n.peerListen, peerAdvertise: n.peerAdvertise, clientListen: n.clientListen, clientAdvertise: n.clientAdvertise, ...(options.clientTls ? { clientTls: true } : {}),
        ...(extra.labels !== undefined ? { labels: extra.labels } : {}), ...(extra.leaseTtlMs !== undefined ? { leaseTtlMs: extra.leaseTtlMs } : {}),
      },
      ...(extra.services !== undefined ? { services: extra.services } : {}),
      ...(extra.proxy !== undefined ? { proxy: extra.proxy } : {}),
      ...(extra.fronts !== undefined ? { fronts: extra.fronts } : {}),
      ...(extra.clusterVip !== undefined ? { clusterVip: extra.clusterVip } : {}),
      pkiDir: "./pki",
      tokenFile: "./token",
      adminTokenFile: "./admin-token",
      joinTokenHash: join_.hash,
      members,
      ...(raft ? { raft } : {}),
      ...(options.alerts ? { alerts: options.alerts } : {}),
    };
    const file = join(dir, "config.yaml");
    await writeFileAtomic(file, renderNodeConfig(config), { mode: KEY_FILE_MODE });
    configFiles.set(n.id, file);
  }
  return { clusterId, clientToken, adminToken, joinToken: join_.token, configFiles, ca };
}
