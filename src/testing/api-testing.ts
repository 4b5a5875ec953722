// Test harness: one real node in this process (startNode: storage, TLS peer transport, replica,
// housekeeper, client API with both tokens) on 127.0.0.1 ephemeral ports in a temporary directory,
// plus small HTTP helpers. Used by the client API's and the watch stream's tests.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { createClusterCa } from "../pki/ca.js";
import { KEY_FILE_MODE, writeClusterCa, writeNodeCredentials } from "../pki/files.js";
import { issueNodeCertificate } from "../pki/issue.js";
import { createJoinToken } from "../pki/token.js";
import { startNode } from "../server/agent.js";
import type { RunningNode } from "../server/agent.js";
import { CA_KEY } from "../server/housekeeper.js";
import { loadNodeConfig, renderNodeConfig } from "../server/node-config.js";
import type { NodeConfigInput } from "../server/node-config.js";
import { pollUntil } from "../server/testing.js";

/** A running single-node cluster and its credentials. */
export interface ApiNode {
  readonly node: RunningNode;
  readonly baseUrl: string;
  readonly clientToken: string;
  readonly adminToken: string;
  readonly joinToken: string;
  readonly dir: string;
  close(): Promise<void>;
}

/** Files of a one-node cluster in `dir`; returns the config file and the tokens. */
export async function writeApiNodeFiles(dir: string, overrides: Partial<NodeConfigInput> = {}): Promise<{ configFile: string; clientToken: string; adminToken: string; joinToken: string }> {
  const clusterId = "capitest";
  const ca = await createClusterCa({ clusterId });
  const pki = join(dir, "pki");
  await mkdir(pki, { recursive: true, mode: 0o700 });
  await writeClusterCa(pki, ca);
  await writeNodeCredentials(pki, await issueNodeCertificate(ca, { nodeId: 1, hostnames: ["localhost"], ips: ["127.0.0.1"] }));
  const clientToken = "client-token-for-tests";
  const adminToken = "admin-token-for-tests";
  await writeFile(join(dir, "token"), `${clientToken}\n`, { mode: KEY_FILE_MODE });
  await writeFile(join(dir, "admin-token"), `${adminToken}\n`, { mode: KEY_FILE_MODE });
  const joinToken = createJoinToken();
  const config: NodeConfigInput = {
    clusterId,
    node: { id: 1, name: "n1", dataDir: "./data", peerListen: "127.0.0.1:0", peerAdvertise: "127.0.0.1:0", clientListen: "127.0.0.1:0", clientAdvertise: "127.0.0.1:0" },
    pkiDir: "./pki",
    tokenFile: "./token",
    adminTokenFile: "./admin-token",
    joinTokenHash: joinToken.hash,
    members: [{ id: 1, name: "n1", peerAddress: "127.0.0.1:0", clientAddress: "127.0.0.1:0" }],
    raft: { tickMs: 10, electionTicks: 10, heartbeatTicks: 1 },
    log: { level: "silent" },
    ...overrides,
  };
  const configFile = join(dir, "config.yaml");
  await writeFile(configFile, renderNodeConfig(config));
  return { configFile, clientToken, adminToken, joinToken: joinToken.token };
}

/** Starts a one-node cluster and waits until it leads and has stored the CA in its internal keys. */
export async function startApiNode(overrides: Partial<NodeConfigInput> = {}): Promise<ApiNode> {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-api-"));
  try {
    const files = await writeApiNodeFiles(dir, overrides);
    const node = await startNode(await loadNodeConfig(files.configFile), pino({ level: "silent" }));
    const close = async (): Promise<void> => {
      await node.stop();
      await rm(dir, { recursive: true, force: true });
    };
    try {
      await pollUntil(() => (node.replica.status().role === "leader" && node.replica.kv.get(CA_KEY) !== undefined ? true : undefined), 20_000, "the node to lead and store the CA");
    } catch (err) {
      await close();
      throw err;
    }
    return { node, baseUrl: `http://${node.clientAddress}`, clientToken: files.clientToken, adminToken: files.adminToken, joinToken: files.joinToken, dir, close };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** An answer as the tests look at it: status, raw text and parsed JSON (null when not JSON). */
export interface Answer {
  readonly status: number;
  readonly text: string;
  readonly json: Record<string, unknown> | null;
}

/** Sends one request; `body` is JSON-encoded unless it is already a string. */
export async function call(baseUrl: string, method: "GET" | "POST", path: string, options: { token?: string; body?: unknown } = {}): Promise<Answer> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {}) },
    ...(options.body !== undefined ? { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = null;
  }
  return { status: res.status, text, json };
}

/** Base64 of a UTF-8 string (keys and values on the gateway). */
export const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
