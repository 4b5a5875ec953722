// Runs the RESP front's data commands (those RespSession hands back) on the replicated store: keys
// of database n live under frontPrefix("redis", n), values carry their expiry (store-format.ts).
// Reads are linearizable unless the connection opted into follower reads; writes are one txn each,
// read-modify-writes are guarded by the key's mod revision (keyspace.ts). Store failures are thrown
// as FrontStoreError and worded by the connection (resp-server.ts).
import { MAX_TXN_OPS } from "../../kv/store.js";
import { parseRedisBigInt } from "../codec/decimal.js";
import { redisIncrBy } from "../codec/counters.js";
import { redisGlobMatch } from "../codec/redis-glob.js";
import { RESP_ERRORS, parseExpire, parseGetex, parseScan, parseSet, parseSetex } from "../codec/resp-args.js";
import type { SetRequest } from "../codec/resp-args.js";
import { infoText, keyspaceValue, selectInfoSections } from "../codec/resp-info.js";
import type { InfoSection } from "../codec/resp-info.js";
import type { RespWriter } from "../codec/resp-writer.js";
import { ScanCursorTable } from "../codec/scan-cursors.js";
import { frontKeyOf, frontPrefix, storeKeyFits, storeKeyOf, ttlReply } from "../codec/store-format.js";
import type { FrontEntry } from "../codec/store-format.js";
import { FrontStoreError } from "./front-store.js";
import type { Keyspace, Loaded } from "./keyspace.js";

/** KEYS answers at most this many keys (an unbounded KEYS would stall the node); beyond, use SCAN. */
export const KEYS_REPLY_MAX = 100_000;
/** FLUSHDB deletes at most this many batches of MAX_TXN_OPS keys (far above the fronts' key bound). */
const FLUSH_BATCHES_MAX = 100_000;
/** Keys read per page while scanning a database (DBSIZE, KEYS, FLUSHDB). */
const PAGE_KEYS = 1000;

/** What a command may know of its connection. */
export interface RespConnectionState {
  readonly db: number;
  readonly followerRead: boolean;
  readonly isAdmin: boolean;
  readonly clientId: number;
}

/** Facts INFO reports besides the store's. */
export interface RespServerFacts {
  readonly version: string;
  readonly port: () => number;
  readonly connectedClients: () => number;
  readonly startedMs: number;
  readonly expiredKeys: () => number;
}

const decoder = new TextDecoder();
const latin1 = (b: Uint8Array): string => String.fromCharCode(...b);
const bytesOfLatin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** Executes data commands; one per node, shared by its connections (SCAN cursors are per node). */
export class RespExecutor {
  private readonly cursors = new ScanCursorTable();

  constructor(private readonly ks: Keyspace, private readonly facts: RespServerFacts) {}

  /** Runs `name` (upper case, arity checked); writes exactly one reply. */
  async run(name: string, args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<void> {
    switch (name) {
      case "GET": return this.get(args, c, w);
      case "SET": return this.set(c, w, parseSet(args, this.ks.now()), "set");
      case "SETEX":
      case "PSETEX": return this.set(c, w, parseSetex(args, this.ks.now()), "set");
      case "SETNX": return this.set(c, w, { ok: true, value: { key: args[1] as Uint8Array, value: args[2] as Uint8Array, condition: "nx", get: false, expiry: { kind: "clear" } } }, "setnx");
      case "GETDEL": return this.getdel(args, c, w);
      case "GETEX": return this.getex(args, c, w);
      case "MGET": return this.mget(args, c, w);
      case "MSET": return this.mset(args, c, w);
      case "DEL":
      case "UNLINK": return this.del(args, c, w);
      case "EXISTS": return this.exists(args, c, w);
      case "EXPIRE":
      case "PEXPIRE":
      case "EXPIREAT":
      case "PEXPIREAT": return this.expire(args, c, w);
      case "TTL":
      case "PTTL": return this.ttl(args, c, w, name === "TTL" ? "s" : "ms");
      case "PERSIST": return this.persist(args, c, w);
      case "INCR": return this.incr(args, c, w, 1n, false);
      case "DECR": return this.incr(args, c, w, 1n, true);
      case "INCRBY":
      case "DECRBY": {
        const delta = parseRedisBigInt(args[2] as Uint8Array);
        if (delta === null) return w.error(RESP_ERRORS.notInteger);
        return this.incr(args, c, w, delta, name === "DECRBY");
      }
      case "TYPE": return this.type(args, c, w);
      case "DBSIZE": return this.dbsize(c, w);
      case "SCAN": return this.scan(args, c, w);
      case "KEYS": return this.keys(args, c, w);
      case "HSET": return this.hset(args, c, w);
      case "HGET": return this.hget(args, c, w);
      case "HMGET": return this.hmget(args, c, w);
      case "HGETALL": return this.hgetall(args, c, w);
      case "HDEL": return this.hdel(args, c, w);
      case "HEXISTS": return this.hexists(args, c, w);
      case "HINCRBY": return this.hincrby(args, c, w);
      case "FLUSHDB": return this.flushdb(c, w);
      case "INFO": return this.info(args, c, w);
      default: return w.error(`ERR command '${name.toLowerCase()}' is known but not implemented by this front`);
    }
  }

  private storeKey(c: RespConnectionState, key: Uint8Array): string {
    const prefix = frontPrefix("redis", c.db);
    if (!storeKeyFits(prefix, key)) throw new FrontStoreError("invalid", "ERR key too long: the store keeps keys up to 4096 bytes, and bytes outside printable ASCII take 3");
    return storeKeyOf(prefix, key);
  }

  private load(c: RespConnectionState, key: Uint8Array): Promise<Loaded> {
    return this.ks.load(this.storeKey(c, key), c.followerRead);
  }

  private async get(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<void> {
    const { entry } = await this.load(c, args[1] as Uint8Array);
    if (entry === null) return w.null();
    if (entry.type !== "string") return w.error(RESP_ERRORS.wrongType);
    w.bulk(entry.value);
  }

  private async set(c: RespConnectionState, w: RespWriter, parsed: ReturnType<typeof parseSet>, flavour: "set" | "setnx"): Promise<void> {
    if (!parsed.ok) return w.error(parsed.error);
    const req: SetRequest = parsed.value;
    const storeKey = this.storeKey(c, req.key);
    const fresh = (old: FrontEntry | null): FrontEntry => ({
      type: "string",
      value: req.value,
      flags: 0,
      expireAtMs: req.expiry.kind === "at" ? req.expiry.atMs : req.expiry.kind === "keep" && old !== null ? old.expireAtMs : 0,
    });
    // A plain SET needs no read: one unguarded put.
    if (req.condition === "always" && !req.get && req.expiry.kind !== "keep") {
      await this.ks.commit([{ storeKey, entry: fresh(null) }], true);
      return w.simple("OK");
    }
    type R = { error: string } | { set: boolean; old: Uint8Array | null };
    const r = await this.ks.update<R>(storeKey, true, ({ entry }) => {
      if (req.get && entry !== null && entry.type !== "string") return { reply: { error: RESP_ERRORS.wrongType } };
      const old = entry !== null && entry.type === "string" ? entry.value : null;
      const allowed = req.condition === "always" || (req.condition === "nx") === (entry === null);
      return allowed ? { write: fresh(entry), reply: { set: true, old } } : { reply: { set: false, old } };
    });
    if ("error" in r) return w.error(r.error);
    if (flavour === "setnx") return w.integer(r.set ? 1 : 0);
    if (req.get) return r.old === null ? w.null() : w.bulk(r.old);
    return r.set ? w.simple("OK") : w.null();
  }

  private async getdel(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<void> {
    const r = await this.ks.update<FrontEntry | null>(this.storeKey(c, args[1] as Uint8Array), false, ({ entry }) =>
      entry === null ? { reply: null } : entry.type !== "string" ? { reply: entry } : { write: null, reply: entry });
    if (r === null) return w.null();
    if (r.type !== "string") return w.error(RESP_ERRORS.wrongType);
    w.bulk(r.value);
  }

  private async getex(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<void> {
    const now = this.ks.now();
    const parsed = parseGetex(args, now);
    if (!parsed.ok) return w.error(parsed.error);
    const { expiry } = parsed.value;
    if (expiry === null) return this.get(args, c, w);
    const r = await this.ks.update<FrontEntry | null>(this.storeKey(c, args[1] as Uint8Array), false, ({ entry }) => {
      if (entry === null || entry.type !== "string") return { reply: entry };
      if (expiry.kind === "at" && expiry.atMs <= now) return { write: null, reply: entry };
      return { write: { ...entry, expireAtMs: expiry.kind === "at" ? expiry.atMs : 0 }, reply: entry };
    });
    if (r === null) return w.null();
    if (r.type !== "string") return w.error(RESP_ERRORS.wrongType);
    w.bulk(r.value);
  }

  private async mget(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<void> {
    const loaded = await this.ks.loadMany(args.slice(1).map((k) => this.storeKey(c, k)), c.followerRead);
    w.array(loaded.length);
    for (const { entry } of loaded) {
      if (entry === null || entry.type !== "string") w.null();
      else w.bulk(entry.value);
    }
  }

  private async mset(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<void> {
    const writes = new Map<string, FrontEntry>();
    for (let i = 1; i < args.length; i += 2) writes.set(this.storeKey(c, args[i] as Uint8Array), { type: "string", value: args[i + 1] as Uint8Array, flags: 0, expireAtMs: 0 });
    if (writes.size > MAX_TXN_OPS) return w.error(`ERR MSET sets at most ${MAX_TXN_OPS} keys at once here: split it`);
    await this.ks.commit([...writes].map(([storeKey, entry]) => ({ storeKey, entry })), true);
    w.simple("OK");
  }

  private async del(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<void> {
    const keys = [...new Set(args.slice(1).map((k) => this.storeKey(c, k)))];
    if (keys.length > MAX_TXN_OPS) return w.error(`ERR DEL deletes at most ${MAX_TXN_OPS} keys at once here: split it`);
    const loaded = await this.ks.loadMany(keys, false);
    const present = loaded.filter((l) => l.modRevision !== 0);
    // Expired-but-unswept keys are deleted too, but only visible ones count, as in Redis.
    if (present.length > 0) await this.ks.commit(present.map((l) => ({ storeKey: l.storeKey, entry: null })), false);
    w.integer(loaded.filter((l) => l.entry !== null).length);
  }

  private async exists(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<void> {
    const loaded = await this.ks.loadMany(args.slice(1).map((k) => this.storeKey(c, k)), c.followerRead);
    w.integer(loaded.filter((l) => l.entry !== null).length);
  }

  private async expire(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<void> {
    const now = this.ks.now();
    const parsed = parseExpire(args, now);
    if (!parsed.ok) return w.error(parsed.error);
    const e = parsed.value;
    const applied = await this.ks.update<boolean>(this.storeKey(c, e.key), false, ({ entry }) => {
      if (entry === null) return { reply: false };
      const current = entry.expireAtMs === 0 ? Infinity : entry.expireAtMs;
      if (e.nx && entry.expireAtMs !== 0) return { reply: false };
      if (e.xx && entry.expireAtMs === 0) return { reply: false };
      if (e.gt && !(e.atMs > current)) return { reply: false };
      if (e.lt && !(e.atMs < current)) return { reply: false };
      if (e.atMs <= now) return { write: null, reply: true };
      return { write: { ...entry, expireAtMs: e.atMs }, reply: true };
    });
    w.integer(applied ? 1 : 0);
  }

  private async ttl(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter, unit: "s" | "ms"): Promise<void> {
    const { entry } = await this.load(c, args[1] as Uint8Array);
    w.integer(ttlReply(entry, this.ks.now(), unit));
  }

  private async persist(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<void> {
    const done = await this.ks.update<boolean>(this.storeKey(c, args[1] as Uint8Array), false, ({ entry }) =>
      entry === null || entry.expireAtMs === 0 ? { reply: false } : { write: { ...entry, expireAtMs: 0 }, reply: true });
    w.integer(done ? 1 : 0);
  }

  private async incr(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter, delta: bigint, decrement: boolean): Promise<void> {
    const r = await this.ks.update<{ error: string } | { value: bigint }>(this.storeKey(c, args[1] as Uint8Array), true, ({ entry }) => {
      if (entry !== null && entry.type !== "string") return { reply: { error: RESP_ERRORS.wrongType } };
      const n = redisIncrBy(entry === null ? null : entry.value, delta, decrement);
      if (!n.ok) return { reply: { error: n.error } };
      return { write: { type: "string", value: n.text, flags: 0, expireAtMs: entry?.expireAtMs ?? 0 }, reply: { value: n.value } };
    });
    if ("error" in r) return w.error(r.error);
    w.integer(r.value);
  }

  private async type(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<void> {
    const { entry } = await this.load(c, args[1] as Uint8Array);
    w.simple(entry === null ? "none" : entry.type);
  }

  /** Visits the live keys of the connection's database in order, up to `max` (null: all); stops when `visit` returns false. */
  private async eachKey(c: RespConnectionState, visit: (key: Uint8Array, entry: FrontEntry, storeKey: string) => boolean): Promise<void> {
    const prefix = frontPrefix("redis", c.db);
    let after: string | null = null;
    for (;;) {
      const { kvs, more } = await this.ks.page(prefix, after, PAGE_KEYS, c.followerRead);
      const now = this.ks.now();
      for (const kv of kvs) {
        const entry = this.ks.entryOf(kv, now);
        const key = frontKeyOf(prefix, kv.key);
        if (entry !== null && key !== null && !visit(key, entry, kv.key)) return;
      }
      if (!more || kvs.length === 0) return;
      after = (kvs[kvs.length - 1] as { key: string }).key;
    }
  }

  private async dbsize(c: RespConnectionState, w: RespWriter): Promise<void> {
    let n = 0;
    await this.eachKey(c, () => {
      n++;
      return true;
    });
    w.integer(n);
  }

  private async scan(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<void> {
    const parsed = parseScan(args);
    if (!parsed.ok) return w.error(parsed.error);
    const s = parsed.value;
    const prefix = frontPrefix("redis", c.db);
    const after = this.cursors.resumeAfter(s.cursor);
    // COUNT is a hint of work, as in Redis: that many stored keys are examined, fewer may match.
    const { kvs, more } = await this.ks.page(prefix, after, Math.min(s.count, PAGE_KEYS * 10), c.followerRead);
    const now = this.ks.now();
    const found: Uint8Array[] = [];
    for (const kv of kvs) {
      const entry = this.ks.entryOf(kv, now);
      const key = frontKeyOf(prefix, kv.key);
      if (entry === null || key === null) continue;
      if (s.type !== null && s.type !== entry.type) continue;
      if (s.match !== null && !redisGlobMatch(s.match, key)) continue;
      found.push(key);
    }
    const next = more && kvs.length > 0 ? this.cursors.issue((kvs[kvs.length - 1] as { key: string }).key) : 0n;
    w.array(2);
    w.bulk(next.toString());
    w.array(found.length);
    for (const k of found) w.bulk(k);
  }

  private async keys(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<void> {
    const pattern = args[1] as Uint8Array;
    const found: Uint8Array[] = [];
    let tooMany = false;
    await this.eachKey(c, (key) => {
      if (!redisGlobMatch(pattern, key)) return true;
      if (found.length >= KEYS_REPLY_MAX) {
        tooMany = true;
        return false;
      }
      found.push(key);
      return true;
    });
    if (tooMany) return w.error(`ERR KEYS matched more than ${KEYS_REPLY_MAX} keys: use SCAN with MATCH instead`);
    w.array(found.length);
    for (const k of found) w.bulk(k);
  }

  private async hash(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<Map<string, Uint8Array> | null | "wrongtype"> {
    const { entry } = await this.load(c, args[1] as Uint8Array);
    if (entry === null) return null;
    if (entry.type !== "hash") {
      w.error(RESP_ERRORS.wrongType);
      return "wrongtype";
    }
    return entry.fields;
  }

  private async hset(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<void> {
    const r = await this.ks.update<number | null>(this.storeKey(c, args[1] as Uint8Array), true, ({ entry }) => {
      if (entry !== null && entry.type !== "hash") return { reply: null };
      const fields = new Map(entry?.fields ?? []);
      let added = 0;
      for (let i = 2; i < args.length; i += 2) {
        const f = latin1(args[i] as Uint8Array);
        if (!fields.has(f)) added++;
        fields.set(f, args[i + 1] as Uint8Array);
      }
      return { write: { type: "hash", fields, flags: 0, expireAtMs: entry?.expireAtMs ?? 0 }, reply: added };
    });
    if (r === null) return w.error(RESP_ERRORS.wrongType);
    w.integer(r);
  }

  private async hget(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<void> {
    const h = await this.hash(args, c, w);
    if (h === "wrongtype") return;
    const v = h?.get(latin1(args[2] as Uint8Array));
    if (v === undefined) w.null();
    else w.bulk(v);
  }

  private async hmget(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<void> {
    const h = await this.hash(args, c, w);
    if (h === "wrongtype") return;
    w.array(args.length - 2);
    for (const f of args.slice(2)) {
      const v = h?.get(latin1(f));
      if (v === undefined) w.null();
      else w.bulk(v);
    }
  }

  private async hgetall(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<void> {
    const h = await this.hash(args, c, w);
    if (h === "wrongtype") return;
    const fields = [...(h ?? new Map<string, Uint8Array>())];
    w.map(fields.length);
    for (const [f, v] of fields) {
      w.bulk(bytesOfLatin1(f));
      w.bulk(v);
    }
  }

  private async hexists(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<void> {
    const h = await this.hash(args, c, w);
    if (h === "wrongtype") return;
    w.integer(h?.has(latin1(args[2] as Uint8Array)) === true ? 1 : 0);
  }

  private async hdel(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<void> {
    const r = await this.ks.update<number | null>(this.storeKey(c, args[1] as Uint8Array), false, ({ entry }) => {
      if (entry === null) return { reply: 0 };
      if (entry.type !== "hash") return { reply: null };
      const fields = new Map(entry.fields);
      let removed = 0;
      for (const f of args.slice(2)) if (fields.delete(latin1(f))) removed++;
      if (removed === 0) return { reply: 0 };
      // Redis deletes a hash whose last field went.
      return { write: fields.size === 0 ? null : { ...entry, fields }, reply: removed };
    });
    if (r === null) return w.error(RESP_ERRORS.wrongType);
    w.integer(r);
  }

  private async hincrby(args: readonly Uint8Array[], c: RespConnectionState, w: RespWriter): Promise<void> {
    const delta = parseRedisBigInt(args[3] as Uint8Array);
    if (delta === null) return w.error(RESP_ERRORS.notInteger);
    const field = latin1(args[2] as Uint8Array);
    const r = await this.ks.update<{ error: string } | { value: bigint }>(this.storeKey(c, args[1] as Uint8Array), true, ({ entry }) => {
      if (entry !== null && entry.type !== "hash") return { reply: { error: RESP_ERRORS.wrongType } };
      const n = redisIncrBy(entry?.fields.get(field) ?? null, delta);
      if (!n.ok) return { reply: { error: n.error === RESP_ERRORS.notInteger ? "ERR hash value is not an integer" : n.error } };
      const fields = new Map(entry?.fields ?? []);
      fields.set(field, n.text);
      return { write: { type: "hash", fields, flags: 0, expireAtMs: entry?.expireAtMs ?? 0 }, reply: { value: n.value } };
    });
    if ("error" in r) return w.error(r.error);
    w.integer(r.value);
  }

  private async flushdb(c: RespConnectionState, w: RespWriter): Promise<void> {
    if (!c.isAdmin) return w.error("NOPERM this user has no permissions to run the 'flushdb' command: AUTH with the cluster's admin token");
    // Batches of deletes, as the sweeper's, so a huge database never makes one huge entry; bounded
    // so that writers racing the flush cannot keep it running forever.
    for (let batches = 0; batches < FLUSH_BATCHES_MAX; batches++) {
      const batch: { storeKey: string }[] = [];
      const { kvs } = await this.ks.page(frontPrefix("redis", c.db), null, MAX_TXN_OPS, false);
      for (const kv of kvs) batch.push({ storeKey: kv.key });
      if (batch.length === 0) break;
      await this.ks.commit(batch.map((b) => ({ storeKey: b.storeKey, entry: null })), false);
    }
    w.simple("OK");
  }

  private async info(args: readonly Uint8Array[], _c: RespConnectionState, w: RespWriter): Promise<void> {
    const view = this.ks.store.view();
    // From the last sweep's scan (every sweepIntervalMs), not a scan per INFO: ioredis sends INFO on
    // every connect, and a session table can hold millions of keys.
    const databases = [...this.ks.options.usage.databases].filter(([, d]) => d.keys > 0).sort(([a], [b]) => a - b);
    const sections: InfoSection[] = [
      { name: "Server", fields: [["redis_version", this.facts.version], ["redis_mode", "standalone"], ["phalanx_front", "resp"], ["tcp_port", this.facts.port()], ["uptime_in_seconds", Math.floor((Date.now() - this.facts.startedMs) / 1000)]] },
      { name: "Clients", fields: [["connected_clients", this.facts.connectedClients()]] },
      { name: "Persistence", fields: [["loading", 0], ["aof_enabled", 1]] },
      { name: "Stats", fields: [["expired_keys", this.facts.expiredKeys()]] },
      { name: "Replication", fields: [["role", "master"], ["phalanx_raft_role", view.role], ["phalanx_leader_id", view.leader], ["phalanx_term", view.term]] },
      { name: "Keyspace", fields: databases.map(([db, d]) => [`db${db}`, keyspaceValue(d.keys, d.expires)] as const) },
    ];
    const chosen = selectInfoSections(sections, args.slice(1).map((a) => decoder.decode(a)));
    w.verbatim(infoText(chosen));
  }
}
