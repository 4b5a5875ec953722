// Reading a cluster CA certificate without the X.509 generation library, so that commands and the
// agent, which only load existing PKI files, do not pay for loading it (about a second on a busy
// machine).
import { X509Certificate } from "node:crypto";

/** The organization (O=) of every cluster CA's subject; its unit (OU=) is the cluster id. */
export const CA_ORGANIZATION = "phalanx";

/** Reads the cluster id out of a CA certificate made by createClusterCa; null when it is not one. */
export function clusterIdOfCa(caCertPem: string): string | null {
  const cert = new X509Certificate(caCertPem);
  if (!cert.ca) return null;
  const fields = cert.subject.split("\n");
  if (!fields.includes(`O=${CA_ORGANIZATION}`)) return null;
  const unit = fields.find((f) => f.startsWith("OU="));
  return unit === undefined ? null : unit.slice(3);
}
