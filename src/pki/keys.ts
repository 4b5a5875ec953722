// Key generation and PEM conversion shared by the CA and the certificate issuers. Every key is
// ECDSA P-256: fast to sign and verify, supported by every TLS stack, and small on the wire.
import { randomBytes, type webcrypto } from "node:crypto";
import { subtle, x509 } from "./x509.js";

/** The signature algorithm of every key and certificate the cluster PKI makes. */
export const SIGNING_ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** Backdating of notBefore, so that a peer whose clock is a little behind accepts a fresh certificate. */
export const CLOCK_SKEW_ALLOWANCE_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A fresh extractable P-256 key pair. */
export async function generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return subtle.generateKey(SIGNING_ALGORITHM, true, ["sign", "verify"]);
}

/** The private key as a PKCS#8 PEM ("BEGIN PRIVATE KEY"), the form Node's tls accepts. */
export async function exportPrivateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

/** Imports a PKCS#8 PEM P-256 private key for signing. */
export async function importPrivateKeyPem(pem: string): Promise<webcrypto.CryptoKey> {
  const ders = x509.PemConverter.decode(pem);
  const der = ders[0];
  if (ders.length !== 1 || der === undefined) throw new Error("Cannot import private key: expected exactly one PEM block");
  return subtle.importKey("pkcs8", der, SIGNING_ALGORITHM, false, ["sign"]);
}

/** A random positive 128-bit serial number in hex (RFC 5280 §4.1.2.2: at most 20 octets, positive). */
export function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString("hex");
}

/** notBefore/notAfter for a certificate valid `validityDays` from `now`. */
export function validityWindow(now: Date, validityDays: number): { notBefore: Date; notAfter: Date } {
  if (!(validityDays > 0)) throw new Error(`Invalid validity ${validityDays} days: must be positive`);
  return {
    notBefore: new Date(now.getTime() - CLOCK_SKEW_ALLOWANCE_MS),
    notAfter: new Date(now.getTime() + validityDays * DAY_MS),
  };
}
