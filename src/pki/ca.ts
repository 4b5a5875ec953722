// The cluster certificate authority: a self-signed P-256 certificate that `phalanx init` makes once
// per cluster. Every node and client certificate is signed by it, and every peer connection trusts
// only it, so a certificate from any other CA (including the public web PKI) is worthless here.
import { CA_ORGANIZATION } from "./ca-info.js";
import { assertIdentityName } from "./identity.js";
import { exportPrivateKeyPem, generateKeyPair, randomSerialNumber, SIGNING_ALGORITHM, validityWindow } from "./keys.js";
import { x509 } from "./x509.js";

/** Default lifetime of a cluster CA: ten years (rotating a CA means re-issuing every certificate). */
export const CA_VALIDITY_DAYS_DEFAULT = 3650;

/** A cluster CA: its certificate and private key in PEM, and the cluster it belongs to. */
export interface ClusterCa {
  readonly clusterId: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** Options of createClusterCa. */
export interface CreateClusterCaOptions {
  readonly clusterId: string;
  readonly validityDays?: number;
  /** The issuing time; tests pass a past date to make expired certificates. */
  readonly now?: Date;
}

/** Makes a new self-signed cluster CA (may sign certificates, no intermediates below it). */
export async function createClusterCa(options: CreateClusterCaOptions): Promise<ClusterCa> {
  assertIdentityName("cluster id", options.clusterId);
  const keys = await generateKeyPair();
  const { notBefore, notAfter } = validityWindow(options.now ?? new Date(), options.validityDays ?? CA_VALIDITY_DAYS_DEFAULT);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: `CN=Phalanx cluster CA, OU=${options.clusterId}, O=${CA_ORGANIZATION}`,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { clusterId: options.clusterId, certPem: cert.toString("pem"), keyPem: await exportPrivateKeyPem(keys.privateKey) };
}
