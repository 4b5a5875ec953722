// Who may call what on the client API. Three levels:
//   public — no credential (/healthz; the join route, which checks the join token in its body);
//   client — the client token, or a client certificate of the cluster CA (KV, leases, watches,
//            read-only views of the cluster: status, members, metrics);
//   admin  — the admin token (cluster operations: members remove/promote, leadership transfer,
//            snapshot download; the dashboard's data, server/dashboard/routes.ts). The admin token
//            also authorizes every client call.
// The join token is as strong as the admin token: a joining node receives both tokens (a member may
// become leader, which reads the CA from the store).
// Certificates authenticate at the client level only: the admin token is the one key to cluster
// operations, so revoking it (a new token file, a restart) revokes every operator at once.
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";

/** Who may call a route. */
export type Access = "public" | "client" | "admin";

/** What a request proved about its caller. */
export type Caller = "anonymous" | "client" | "admin";

/** An authenticated caller asked for something its credential does not allow. */
export class PermissionDeniedError extends Error {
  override readonly name = "PermissionDeniedError";
  readonly code = "permission_denied";
}

/** The two bearer tokens of a node (null: that token is not accepted). */
export interface ApiTokens {
  readonly client: string | null;
  readonly admin: string | null;
}

/** Checks a request's credential in constant time. */
export class Credentials {
  private readonly client: Buffer | null;
  private readonly admin: Buffer | null;

  constructor(tokens: ApiTokens) {
    if (tokens.admin !== null && tokens.admin === tokens.client) throw new Error("Cannot use the same token for clients and admins: give the admin token its own value");
    this.client = tokens.client === null ? null : Buffer.from(`Bearer ${tokens.client}`);
    this.admin = tokens.admin === null ? null : Buffer.from(`Bearer ${tokens.admin}`);
  }

  /** The level a request is authenticated at. */
  callerOf(req: IncomingMessage): Caller {
    const given = Buffer.from(req.headers.authorization ?? "");
    if (matches(given, this.admin)) return "admin";
    if (matches(given, this.client)) return "client";
    const tls = req.socket as Partial<TLSSocket>;
    if (tls.authorized === true) return "client";
    // No client token configured and plain HTTP: an open development node.
    if (this.client === null && tls.encrypted !== true) return "client";
    return "anonymous";
  }
}

/** True when `caller` may call a route of `access`. */
export function allows(caller: Caller, access: Access): boolean {
  if (access === "public") return true;
  if (access === "client") return caller !== "anonymous";
  return caller === "admin";
}

function matches(given: Buffer, expected: Buffer | null): boolean {
  return expected !== null && given.length === expected.length && timingSafeEqual(given, expected);
}
