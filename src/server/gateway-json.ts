// The client API's JSON, wire-compatible with etcd v3's JSON gateway (/v3/kv/put, /v3/kv/range,
// ...): keys and values are base64, 64-bit numbers are decimal strings (numbers are accepted too).
// Compatibility means the same low-CPU load generator and the same habits work against both.
// This file only translates; it validates shapes with zod and leaves semantics to the KV store.
import { z } from "zod";
import type { Command, Compare, CompareOp, KeyValue, RangeRequest, TxnOp, TxnOpResult } from "../kv/store.js";

/** Keys are UTF-8 text in Phalanx (etcd allows any bytes): a key that is not valid UTF-8 is refused. */
const utf8 = new TextDecoder("utf-8", { fatal: true });

const int = z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,16}$/, "must be a decimal integer")]).transform(Number);
const b64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, "must be base64");

function decodeKey(s: string): string {
  try {
    return utf8.decode(Buffer.from(s, "base64"));
  } catch {
    throw new GatewayInputError("key must be UTF-8 text, base64-encoded");
  }
}
const keyField = b64.transform(decodeKey);
const valueField = b64.transform((s) => new Uint8Array(Buffer.from(s, "base64")));

/** A client request body that does not have the shape the gateway expects. */
export class GatewayInputError extends Error {
  override readonly name = "GatewayInputError";
}

const rangeSchema = z.object({
  key: keyField,
  range_end: keyField.optional(),
  limit: int.optional(),
  revision: int.optional(),
  serializable: z.boolean().optional(),
  keys_only: z.boolean().optional(),
  count_only: z.boolean().optional(),
}).passthrough();
const putSchema = z.object({ key: keyField, value: valueField.default(""), lease: int.optional(), prev_kv: z.boolean().optional() }).passthrough();
const deleteSchema = z.object({ key: keyField, range_end: keyField.optional(), prev_kv: z.boolean().optional() }).passthrough();

const requestOpSchema = z.union([
  z.object({ request_range: rangeSchema }),
  z.object({ request_put: putSchema }),
  z.object({ request_delete_range: deleteSchema }),
]);
const compareSchema = z.object({
  key: keyField,
  target: z.enum(["VERSION", "CREATE", "MOD", "VALUE", "LEASE"]).default("VERSION"),
  result: z.enum(["EQUAL", "GREATER", "LESS", "NOT_EQUAL"]).default("EQUAL"),
  value: valueField.optional(),
  version: int.optional(),
  create_revision: int.optional(),
  mod_revision: int.optional(),
  lease: int.optional(),
});
const txnSchema = z.object({
  compare: z.array(compareSchema).default([]),
  success: z.array(requestOpSchema).default([]),
  failure: z.array(requestOpSchema).default([]),
});

export const leaseGrantSchema = z.object({ TTL: int, ID: int.optional(), TTL_ms: int.optional() }).passthrough();
export const leaseIdSchema = z.object({ ID: int, keys: z.boolean().optional() }).passthrough();
export const compactionSchema = z.object({ revision: int }).passthrough();
export const watchCreateSchema = z.object({
  create_request: z.object({ key: keyField, range_end: keyField.optional(), start_revision: int.optional(), prev_kv: z.boolean().optional() }).passthrough(),
});
export const memberAddSchema = z.object({ id: int.optional(), name: z.string().min(1).max(64).optional(), peer_address: z.string().min(3), client_address: z.string().min(3), learner: z.boolean().default(true) });
export const memberIdSchema = z.object({ id: int });

/** Parses `body` with `schema`, turning a zod failure into a one-line GatewayInputError naming the field. */
export function parseBody<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, body: unknown): T {
  try {
    const r = schema.safeParse(body);
    if (r.success) return r.data;
    const issue = r.error.issues[0];
    const at = issue && issue.path.length > 0 ? issue.path.join(".") : "body";
    throw new GatewayInputError(`Invalid request: ${at} ${issue?.message ?? "is malformed"}`);
  } catch (err) {
    if (err instanceof GatewayInputError) throw err;
    throw new GatewayInputError(`Invalid request: ${(err as Error).message}`);
  }
}

function rangeRequest(r: z.output<typeof rangeSchema>): RangeRequest {
  return { key: r.key, rangeEnd: r.range_end, limit: r.limit, revision: r.revision, keysOnly: r.keys_only, countOnly: r.count_only };
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** The body as a record of strings and booleans when it holds nothing else, else null (the zod path decides). */
function flatRecord(body: unknown): Record<string, string | boolean> | null {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return null;
  for (const k in body) {
    const v = (body as Record<string, unknown>)[k];
    if (typeof v !== "string" && typeof v !== "boolean") return null;
  }
  return body as Record<string, string | boolean>;
}

function isB64(v: string | boolean | undefined): v is string {
  return typeof v === "string" && BASE64.test(v);
}

// Fast paths for the hot requests (a put of key and value, a read of one key or a range): the same
// checks as the schemas without zod's per-request allocations; anything else takes the zod path.
function fastPut(body: unknown): Command | null {
  const r = flatRecord(body);
  if (r === null || !isB64(r.key) || (r.value !== undefined && !isB64(r.value))) return null;
  for (const k in r) if (k !== "key" && k !== "value") return null;
  return { type: "put", key: decodeKey(r.key), value: new Uint8Array(Buffer.from(r.value ?? "", "base64")), lease: undefined, prevKv: undefined };
}

function fastRange(body: unknown): { request: RangeRequest; serializable: boolean } | null {
  const r = flatRecord(body);
  if (r === null || !isB64(r.key) || (r.range_end !== undefined && !isB64(r.range_end))) return null;
  if (r.serializable !== undefined && typeof r.serializable !== "boolean") return null;
  for (const k in r) if (k !== "key" && k !== "range_end" && k !== "serializable") return null;
  const request: RangeRequest = { key: decodeKey(r.key), rangeEnd: r.range_end === undefined ? undefined : decodeKey(r.range_end), limit: undefined, revision: undefined, keysOnly: undefined, countOnly: undefined };
  return { request, serializable: r.serializable === true };
}

/** A parsed /v3/kv/range body: the request and its consistency. */
export function parseRange(body: unknown): { request: RangeRequest; serializable: boolean } {
  const fast = fastRange(body);
  if (fast !== null) return fast;
  const r = parseBody(rangeSchema, body);
  return { request: rangeRequest(r), serializable: r.serializable === true };
}

/** A parsed /v3/kv/put body. */
export function parsePut(body: unknown): Command {
  const fast = fastPut(body);
  if (fast !== null) return fast;
  const p = parseBody(putSchema, body);
  return { type: "put", key: p.key, value: p.value, lease: p.lease, prevKv: p.prev_kv };
}

/** A parsed /v3/kv/deleterange body. */
export function parseDelete(body: unknown): Command {
  const d = parseBody(deleteSchema, body);
  return { type: "delete", key: d.key, rangeEnd: d.range_end, prevKv: d.prev_kv };
}

const OPS: Record<z.output<typeof compareSchema>["result"], CompareOp> = { EQUAL: "=", NOT_EQUAL: "!=", LESS: "<", GREATER: ">" };

function compare(c: z.output<typeof compareSchema>): Compare {
  const op = OPS[c.result];
  switch (c.target) {
    case "VALUE":
      return { key: c.key, target: "value", op, value: c.value ?? new Uint8Array(0) };
    case "VERSION":
      return { key: c.key, target: "version", op, value: c.version ?? 0 };
    case "CREATE":
      return { key: c.key, target: "createRevision", op, value: c.create_revision ?? 0 };
    case "MOD":
      return { key: c.key, target: "modRevision", op, value: c.mod_revision ?? 0 };
    case "LEASE":
      return { key: c.key, target: "lease", op, value: c.lease ?? 0 };
  }
}

function txnOp(o: z.output<typeof requestOpSchema>): TxnOp {
  if ("request_range" in o) return { type: "range", ...rangeRequest(o.request_range) };
  if ("request_put" in o) {
    const p = o.request_put;
    return { type: "put", key: p.key, value: p.value, lease: p.lease, prevKv: p.prev_kv };
  }
  const d = o.request_delete_range;
  return { type: "delete", key: d.key, rangeEnd: d.range_end, prevKv: d.prev_kv };
}

/** A parsed /v3/kv/txn body. */
export function parseTxn(body: unknown): Command {
  const t = parseBody(txnSchema, body);
  return { type: "txn", compares: t.compare.map(compare), success: t.success.map(txnOp), failure: t.failure.map(txnOp) };
}

/** True when every op of a txn is a read (it can then be served as a linearizable read). */
export function isReadOnlyTxn(cmd: Command): boolean {
  return cmd.type === "txn" && [...cmd.success, ...cmd.failure].every((o) => o.type === "range");
}

// ------------------------------------------------------------------------------------ responses

const b64of = (b: Uint8Array | string): string => (typeof b === "string" ? Buffer.from(b, "utf8") : Buffer.from(b.buffer, b.byteOffset, b.byteLength)).toString("base64");

/** The response header every answer carries. */
export interface ResponseHeader {
  readonly cluster_id: string;
  readonly member_id: string;
  readonly revision: string;
  readonly raft_term: string;
}

/** A KeyValue in gateway JSON. */
export function kvJson(kv: KeyValue): Record<string, string> {
  const out: Record<string, string> = {
    key: b64of(kv.key),
    create_revision: String(kv.createRevision),
    mod_revision: String(kv.modRevision),
    version: String(kv.version),
  };
  if (kv.value.length > 0) out.value = b64of(kv.value);
  if (kv.lease !== 0) out.lease = String(kv.lease);
  return out;
}

/** A range/put/delete result in gateway JSON (without the header). */
export function opResultJson(r: TxnOpResult): Record<string, unknown> {
  switch (r.type) {
    case "range":
      return { kvs: r.kvs.map(kvJson), more: r.more, count: String(r.count) };
    case "put":
      return r.prevKv ? { prev_kv: kvJson(r.prevKv) } : {};
    case "delete":
      return { deleted: String(r.deleted), ...(r.prevKvs ? { prev_kvs: r.prevKvs.map(kvJson) } : {}) };
  }
}

/** The txn responses array in gateway JSON. */
export function txnResponsesJson(responses: readonly TxnOpResult[], header: ResponseHeader): unknown[] {
  return responses.map((r) => {
    const body = { header, ...opResultJson(r) };
    if (r.type === "range") return { response_range: body };
    if (r.type === "put") return { response_put: body };
    return { response_delete_range: body };
  });
}

/** Encodes a key for JSON (CLI and SDK use it too). */
export const encodeKey = (key: string): string => b64of(key);
