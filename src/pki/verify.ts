// Offline checks of a certificate against the cluster CA, for `phalanx` commands and the join
// handshake. Live TLS connections are checked by Node's TLS stack plus the transport's identity
// check; this gives the same verdict with a precise reason, without a connection.
import { X509Certificate } from "node:crypto";
import { describeIdentity, identityFromSubjectAltName, type Identity } from "./identity.js";

/** Why a certificate was refused. */
export type CertificateRefusal =
  | "malformed"
  | "not_issued_by_ca"
  | "not_yet_valid"
  | "expired"
  | "no_identity"
  | "wrong_cluster"
  | "wrong_identity";

/** The verdict of verifyCertificate. */
export type CertificateVerdict =
  | { readonly ok: true; readonly identity: Identity; readonly notAfter: Date }
  | { readonly ok: false; readonly code: CertificateRefusal; readonly reason: string };

/** Options of verifyCertificate. */
export interface VerifyCertificateOptions {
  readonly clusterId: string;
  readonly now?: Date;
  /** When set, the certificate must name exactly this node. */
  readonly expectedNodeId?: number;
}

/** Checks that `certPem` was signed by the CA, is valid now, and names an identity of this cluster. */
export function verifyCertificate(certPem: string, caCertPem: string, options: VerifyCertificateOptions): CertificateVerdict {
  let cert: X509Certificate;
  let ca: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
    ca = new X509Certificate(caCertPem);
  } catch (cause) {
    return { ok: false, code: "malformed", reason: `Cannot parse certificate: ${(cause as Error).message}` };
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    return { ok: false, code: "not_issued_by_ca", reason: `Certificate ${cert.subject.replace(/\n/g, ", ")} was not signed by the cluster CA` };
  }
  const now = options.now ?? new Date();
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (now < notBefore) return { ok: false, code: "not_yet_valid", reason: `Certificate is not valid before ${notBefore.toISOString()}` };
  if (now > notAfter) return { ok: false, code: "expired", reason: `Certificate expired at ${notAfter.toISOString()}` };
  const identity = identityFromSubjectAltName(cert.subjectAltName);
  if (identity === null) return { ok: false, code: "no_identity", reason: "Certificate carries no Phalanx identity URI" };
  if (identity.clusterId !== options.clusterId) {
    return { ok: false, code: "wrong_cluster", reason: `Certificate is for ${describeIdentity(identity)}, not cluster ${options.clusterId}` };
  }
  if (options.expectedNodeId !== undefined && (identity.kind !== "node" || identity.nodeId !== options.expectedNodeId)) {
    return { ok: false, code: "wrong_identity", reason: `Certificate is for ${describeIdentity(identity)}, expected node ${options.expectedNodeId}` };
  }
  return { ok: true, identity, notAfter };
}
