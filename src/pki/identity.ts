// Who a certificate speaks for. Every certificate the cluster CA issues carries exactly one URI
// subject alternative name in the SPIFFE style, so that a peer is identified by what the CA signed
// and not by an address that can move: spiffe://phalanx/<cluster-id>/node/<id> for a node,
// spiffe://phalanx/<cluster-id>/client/<name> for a client (CLI, agent tooling, apps).

/** The identity a certificate carries. */
export type Identity =
  | { readonly kind: "node"; readonly clusterId: string; readonly nodeId: number }
  | { readonly kind: "client"; readonly clusterId: string; readonly name: string };

/** Cluster ids and client names: short, URI-safe, no separators. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const URI_PREFIX = "spiffe://phalanx/";

/** Throws when `value` cannot be used as a cluster id or client name inside an identity URI. */
export function assertIdentityName(what: string, value: string): void {
  if (!NAME_PATTERN.test(value)) {
    throw new Error(`Invalid ${what} "${value}": use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
}

/** The URI that names `identity` in a certificate's subject alternative names. */
export function identityUri(identity: Identity): string {
  assertIdentityName("cluster id", identity.clusterId);
  if (identity.kind === "node") {
    if (!Number.isSafeInteger(identity.nodeId) || identity.nodeId <= 0) {
      throw new Error(`Invalid node id ${identity.nodeId}: must be a positive integer`);
    }
    return `${URI_PREFIX}${identity.clusterId}/node/${identity.nodeId}`;
  }
  assertIdentityName("client name", identity.name);
  return `${URI_PREFIX}${identity.clusterId}/client/${identity.name}`;
}

/** Parses an identity URI; null when it is not one of ours. */
export function parseIdentityUri(uri: string): Identity | null {
  if (!uri.startsWith(URI_PREFIX)) return null;
  const parts = uri.slice(URI_PREFIX.length).split("/");
  if (parts.length !== 3) return null;
  const [clusterId, kind, rest] = parts as [string, string, string];
  if (!NAME_PATTERN.test(clusterId)) return null;
  if (kind === "node") {
    if (!/^[1-9][0-9]{0,15}$/.test(rest)) return null;
    const nodeId = Number(rest);
    return Number.isSafeInteger(nodeId) ? { kind: "node", clusterId, nodeId } : null;
  }
  if (kind === "client" && NAME_PATTERN.test(rest)) return { kind: "client", clusterId, name: rest };
  return null;
}

/**
 * Extracts the identity from Node's `subjectaltname` string (as in tls.PeerCertificate and
 * crypto.X509Certificate), e.g. "DNS:n1.local, IP Address:10.0.0.1, URI:spiffe://phalanx/c1/node/1".
 * Null when there is no identity URI, or more than one (ambiguous, so refused).
 */
export function identityFromSubjectAltName(subjectAltName: string | undefined): Identity | null {
  if (subjectAltName === undefined || subjectAltName === "") return null;
  const found: Identity[] = [];
  for (const part of subjectAltName.split(/,\s*/)) {
    if (!part.startsWith("URI:")) continue;
    const identity = parseIdentityUri(part.slice(4));
    if (identity !== null) found.push(identity);
  }
  return found.length === 1 ? (found[0] as Identity) : null;
}

/** A short human-readable form for logs: "node 3 of cluster c1", "client admin of cluster c1". */
export function describeIdentity(identity: Identity): string {
  return identity.kind === "node"
    ? `node ${identity.nodeId} of cluster ${identity.clusterId}`
    : `client ${identity.name} of cluster ${identity.clusterId}`;
}
