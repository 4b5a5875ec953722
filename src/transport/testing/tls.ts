// Test helpers for TLS transports: a cluster CA with node certificates, and a logger whose lines
// the test can read.
import { pino, type Logger } from "pino";
import { createClusterCa, type ClusterCa } from "../../pki/ca.js";
import { issueNodeCertificate } from "../../pki/issue.js";
import type { NodeId } from "../../raft/types.js";
import type { TransportLimits } from "../limits.js";
import type { ClockOptions } from "../clock.js";
import type { TlsCredentials } from "../peer-link.js";
import { createTlsTransport, type TlsTransport } from "../tls-transport.js";
import type { TransportHarness } from "./conformance.js";
import { seededRandom } from "./messages.js";

/** One parsed log line. */
export type LogLine = Record<string, unknown> & { msg?: string; reason?: string };

/** A debug-level pino logger that keeps its lines in memory. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: "debug" }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { logger, lines };
}

/** A test cluster's PKI: one CA and node credentials made on demand. */
export class TestPki {
  private readonly nodes = new Map<number, TlsCredentials>();
  private constructor(readonly ca: ClusterCa) {}

  /** Makes a fresh CA for cluster `clusterId`. */
  static async create(clusterId = "test"): Promise<TestPki> {
    return new TestPki(await createClusterCa({ clusterId }));
  }

  /** Credentials of node `id` (with 127.0.0.1 and localhost names). */
  async node(id: number): Promise<TlsCredentials> {
    let creds = this.nodes.get(id);
    if (creds === undefined) {
      const issued = await issueNodeCertificate(this.ca, { nodeId: id, hostnames: ["localhost"], ips: ["127.0.0.1"] });
      creds = { caCertPem: this.ca.certPem, certPem: issued.certPem, keyPem: issued.keyPem };
      this.nodes.set(id, creds);
    }
    return creds;
  }
}

/** Starts a TLS transport for node `id` on 127.0.0.1 (port 0 unless given). */
export async function startNode(pki: TestPki, id: number, options: { limits?: Partial<TransportLimits>; logger?: Logger; port?: number; clock?: Partial<ClockOptions> } = {}): Promise<TlsTransport> {
  return createTlsTransport({
    nodeId: id as NodeId,
    clusterId: pki.ca.clusterId,
    credentials: await pki.node(id),
    listenHost: "127.0.0.1",
    listenPort: options.port ?? 0,
    limits: { reconnect: { initialDelayMs: 10, maxDelayMs: 100, multiplier: 2, jitterRatio: 0.5 }, ...options.limits },
    logger: options.logger ?? captureLogger().logger,
    random: seededRandom(id),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
}

/** A harness factory for the conformance suite over real mTLS on loopback. */
export function tlsHarnessFactory(pki: TestPki) {
  return async (ids: readonly number[], limits?: Partial<TransportLimits>): Promise<TransportHarness> => {
    const transports = new Map<number, TlsTransport>();
    for (const n of ids) transports.set(n, await startNode(pki, n, { limits }));
    return {
      transports,
      addressOf: (n) => (transports.get(n) as TlsTransport).address(),
      close: async () => {
        for (const t of transports.values()) await t.close();
      },
    };
  };
}
