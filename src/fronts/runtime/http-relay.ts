// A follower's front writes, relayed to the leader's client API as an etcd-gateway /v3/kv/txn (the
// same keep-alive pool and one-hop rule as the HTTP API's forwarding, server/forward.ts). The fronts
// only send txns of compares on mod_revision and puts/deletes of single keys, so only that subset is
// encoded here, and only the fields the fronts read (succeeded, deleted counts) are decoded.
import type { Compare, TxnOp, TxnOpResult, TxnRequest, TxnResult } from "../../kv/store.js";
import type { NodeId } from "../../raft/raft.js";
import type { WireCode } from "../../node/outcome.js";
import { ServerError } from "../../server/errors.js";
import type { LeaderForwarder } from "../../server/forward.js";
import type { LeaderTxnRelay } from "./front-store.js";

const b64 = (b: Uint8Array | string): string => (typeof b === "string" ? Buffer.from(b, "utf8") : Buffer.from(b.buffer, b.byteOffset, b.byteLength)).toString("base64");

const OPS = { "=": "EQUAL", "!=": "NOT_EQUAL", "<": "LESS", ">": "GREATER" } as const;

function compareJson(c: Compare): Record<string, unknown> {
  if (c.target !== "modRevision") throw new Error(`The fronts relay only mod_revision compares, not ${c.target}: a caller bug`);
  return { key: b64(c.key), target: "MOD", result: OPS[c.op], mod_revision: String(c.value) };
}

function opJson(o: TxnOp): Record<string, unknown> {
  if (o.type === "put") return { request_put: { key: b64(o.key), value: b64(o.value) } };
  if (o.type === "delete") return { request_delete_range: { key: b64(o.key), ...(o.rangeEnd !== undefined ? { range_end: b64(o.rangeEnd) } : {}) } };
  throw new Error("The fronts relay no range ops inside a txn: a caller bug");
}

interface TxnReplyJson {
  header?: { revision?: string };
  succeeded?: boolean;
  responses?: { response_put?: unknown; response_delete_range?: { deleted?: string } }[];
  phalanx_code?: string;
  message?: string;
  leader?: string;
}

/** A LeaderTxnRelay over the leader's HTTP client API, authenticated with the cluster's client token. */
export function httpLeaderRelay(forwarder: LeaderForwarder, clientToken: string | null): LeaderTxnRelay {
  return async (leader: NodeId, txn: TxnRequest): Promise<TxnResult> => {
    const body = { compare: txn.compares.map(compareJson), success: txn.success.map(opJson), failure: txn.failure.map(opJson) };
    const reply = await forwarder.forward(leader, "/v3/kv/txn", body, clientToken === null ? undefined : `Bearer ${clientToken}`);
    // Unknown or unreachable before sending: nothing was applied.
    if (reply === null) throw new ServerError("no_leader", `Leader ${leader} is not reachable from this node`);
    let json: TxnReplyJson;
    try {
      json = JSON.parse(reply.body) as TxnReplyJson;
    } catch (err) {
      throw new ServerError("unknown_outcome", `Leader ${leader} answered ${reply.status} with a body that is not JSON`, { cause: err });
    }
    if (reply.status !== 200) throw new ServerError((json.phalanx_code ?? "unknown_outcome") as WireCode, json.message ?? `Leader ${leader} answered ${reply.status}`);
    const ops = json.succeeded === true ? txn.success : txn.failure;
    const responses: TxnOpResult[] = ops.map((o, i) => {
      const r = json.responses?.[i];
      const revision = Number(json.header?.revision ?? 0);
      if (o.type === "delete") return { ok: true, type: "delete", revision, deleted: Number(r?.response_delete_range?.deleted ?? 0) };
      return { ok: true, type: "put", revision };
    });
    return { ok: true, type: "txn", revision: Number(json.header?.revision ?? 0), succeeded: json.succeeded === true, responses };
  };
}
