// Join tokens: a random secret that lets a new node ask the cluster for a certificate. The cluster
// stores only the SHA-256 of a token (a leaked store does not leak tokens) and compares in constant
// time. Tokens carry 256 bits of randomness, so a fast hash is enough (no password stretching).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** Every token starts with this, so a token pasted in the wrong place is recognisable. */
export const JOIN_TOKEN_PREFIX = "phxjoin1.";
/** Random bytes per token. */
export const JOIN_TOKEN_BYTES = 32;

/** A new token (give it to the operator once) and its hash (store this). */
export interface JoinToken {
  readonly token: string;
  readonly hash: string;
}

/** Makes a new random join token. */
export function createJoinToken(): JoinToken {
  const token = JOIN_TOKEN_PREFIX + randomBytes(JOIN_TOKEN_BYTES).toString("base64url");
  return { token, hash: hashJoinToken(token) };
}

/** The stored form of a token: lowercase hex SHA-256 of its text. */
export function hashJoinToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** True when `token` hashes to `storedHash`; compares in constant time. */
export function verifyJoinToken(token: string, storedHash: string): boolean {
  const expected = Buffer.from(storedHash, "hex");
  const actual = createHash("sha256").update(token, "utf8").digest();
  if (expected.length !== actual.length) return false;
  return timingSafeEqual(expected, actual);
}
