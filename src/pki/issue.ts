// Issuing certificates from the cluster CA. A node certificate serves both ends of a peer
// connection (server and client auth) and names its node in a URI SAN; its DNS and IP SANs let
// ordinary TLS clients (curl, browsers trusting the CA) check the node's address too. A client
// certificate is for client auth only, so it can never pose as a node.
import { isIP } from "node:net";
import { X509Certificate } from "node:crypto";
import type { ClusterCa } from "./ca.js";
import { identityUri, type Identity } from "./identity.js";
import {
  exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem, randomSerialNumber, SIGNING_ALGORITHM, validityWindow,
} from "./keys.js";
import { x509 } from "./x509.js";

/** Default lifetime of node and client certificates: about two years (825 days, the CA/B maximum once). */
export const CERT_VALIDITY_DAYS_DEFAULT = 825;
/** Bound on subject alternative names per certificate: hostnames plus addresses. */
export const MAX_SUBJECT_ALT_NAMES = 64;

/** A certificate and its private key, in PEM. */
export interface IssuedCredentials {
  readonly certPem: string;
  readonly keyPem: string;
}

/** What a node certificate says about the node. */
export interface NodeCertificateOptions {
  readonly nodeId: number;
  /** DNS names the node is reached by (e.g. "localhost", "n1.example.net"). */
  readonly hostnames?: readonly string[];
  /** IP addresses the node is reached by (e.g. "127.0.0.1", "::1"). */
  readonly ips?: readonly string[];
  readonly validityDays?: number;
  readonly now?: Date;
}

/** What a client certificate says about the client. */
export interface ClientCertificateOptions {
  readonly name: string;
  readonly validityDays?: number;
  readonly now?: Date;
}

/** Makes a key pair and a node certificate for it, signed by the CA. */
export async function issueNodeCertificate(ca: ClusterCa, options: NodeCertificateOptions): Promise<IssuedCredentials> {
  const keys = await generateKeyPair();
  const certPem = await signCertificate(ca, keys.publicKey, { kind: "node", clusterId: ca.clusterId, nodeId: options.nodeId }, options);
  return { certPem, keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/** Makes a key pair and a client certificate for it, signed by the CA. */
export async function issueClientCertificate(ca: ClusterCa, options: ClientCertificateOptions): Promise<IssuedCredentials> {
  const keys = await generateKeyPair();
  const certPem = await signCertificate(ca, keys.publicKey, { kind: "client", clusterId: ca.clusterId, name: options.name }, options);
  return { certPem, keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/** A private key and a certificate signing request (PKCS#10), made by a joining node; the key never leaves it. */
export interface NodeKeyRequest {
  readonly keyPem: string;
  readonly csrPem: string;
}

/** Makes a key pair and a CSR for it. The CSR's names are ignored by the signer: the cluster decides them. */
export async function createNodeKeyRequest(): Promise<NodeKeyRequest> {
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: "CN=phalanx node", keys, signingAlgorithm: SIGNING_ALGORITHM,
  });
  return { keyPem: await exportPrivateKeyPem(keys.privateKey), csrPem: csr.toString("pem") };
}

/**
 * Signs a joining node's CSR (after its join token was accepted). Only the CSR's public key is used,
 * after checking the CSR's self-signature (proof that the requester holds the private key).
 */
export async function signNodeRequest(ca: ClusterCa, csrPem: string, options: NodeCertificateOptions): Promise<string> {
  let csr: InstanceType<typeof x509.Pkcs10CertificateRequest>;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (cause) {
    throw new Error("Cannot sign certificate request: it is not a PEM PKCS#10 request", { cause });
  }
  if (!(await csr.verify())) throw new Error("Cannot sign certificate request: its signature does not match its public key");
  return signCertificate(ca, csr.publicKey, { kind: "node", clusterId: ca.clusterId, nodeId: options.nodeId }, options);
}

type PublicKeyInput = Parameters<typeof x509.SubjectKeyIdentifierExtension.create>[0];

async function signCertificate(
  ca: ClusterCa,
  publicKey: PublicKeyInput,
  identity: Identity,
  options: { hostnames?: readonly string[]; ips?: readonly string[]; validityDays?: number; now?: Date },
): Promise<string> {
  const uri = identityUri(identity);
  const names: { type: "dns" | "ip" | "url"; value: string }[] = [{ type: "url", value: uri }];
  for (const host of options.hostnames ?? []) {
    if (!/^[A-Za-z0-9*]([A-Za-z0-9.-]{0,252})$/.test(host)) throw new Error(`Cannot issue certificate: invalid hostname "${host}"`);
    names.push({ type: "dns", value: host });
  }
  for (const ip of options.ips ?? []) {
    if (isIP(ip) === 0) throw new Error(`Cannot issue certificate: invalid IP address "${ip}"`);
    names.push({ type: "ip", value: ip });
  }
  if (names.length > MAX_SUBJECT_ALT_NAMES) {
    throw new Error(`Cannot issue certificate: ${names.length} subject alternative names exceed the limit of ${MAX_SUBJECT_ALT_NAMES}`);
  }
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importPrivateKeyPem(ca.keyPem);
  const { notBefore, notAfter } = validityWindow(options.now ?? new Date(), options.validityDays ?? CERT_VALIDITY_DAYS_DEFAULT);
  const usages = identity.kind === "node"
    ? [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]
    : [x509.ExtendedKeyUsage.clientAuth];
  const commonName = identity.kind === "node" ? `node-${identity.nodeId}` : `client-${identity.name}`;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: `CN=${commonName}, OU=${identity.clusterId}, O=phalanx`,
    issuer: caCert.subject,
    notBefore,
    notAfter,
    publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension(usages, false),
      new x509.SubjectAlternativeNameExtension(names, false),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  // Node's own parser must accept what we made; a failure here is a bug in this module.
  new X509Certificate(cert.toString("pem"));
  return cert.toString("pem");
}
