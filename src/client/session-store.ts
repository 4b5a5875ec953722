// An express-session store on the SDK, for apps that prefer the native client over the RESP front.
// Same data and semantics as the RESP front: a session is the key `<prefix><sid>` of RESP database
// `db`, stored in the fronts' entry format with its expiry in the value (fronts/codec/store-format.ts),
// so a session written here is visible through `redis-cli GET sess:<sid>` and vice versa; reads are
// linearizable and treat an expired session as missing; nodes with a front enabled run the sweeper
// that deletes expired sessions (without one, expired sessions are hidden but not deleted).
//
// express-session stores must extend its Store class, so this is a factory given the module:
//   import session from "express-session";
//   const SessionStore = phalanxSessionStore(session);
//   app.use(session({ store: new SessionStore({ client, ttlMs: 86_400_000 }), secret, ... }));
import { decodeEntry, encodeEntry, frontPrefix, isExpired, storeKeyOf } from "../fronts/codec/store-format.js";
import type { PhalanxClient } from "./client.js";

/** Options of a session store. */
export interface SessionStoreOptions {
  readonly client: PhalanxClient;
  /** Key prefix of sessions (connect-redis's default). */
  readonly prefix?: string;
  /** RESP database the sessions live in (SELECT n on the RESP front). */
  readonly db?: number;
  /** Lifetime of a session whose cookie has no expiry. */
  readonly ttlMs?: number;
  /** Wall-clock Unix ms (tests inject it). */
  readonly nowMs?: () => number;
}

/** The part of a session express-session hands a store. */
interface SessionData {
  cookie?: { expires?: Date | string | null; maxAge?: number | null };
  [field: string]: unknown;
}

type Callback<T = void> = (err: unknown, value?: T) => void;

/** The constructor of express-session's Store (its module's `Store`). */
type StoreBase = new () => object;

const DEFAULT_TTL_MS = 86_400_000;
const enc = new TextEncoder();
const dec = new TextDecoder();
const b64 = (b: Uint8Array | string): string => (typeof b === "string" ? Buffer.from(b, "utf8") : Buffer.from(b.buffer, b.byteOffset, b.byteLength)).toString("base64");

/** A store class for express-session (`session` is the express-session module). */
export function phalanxSessionStore(session: { Store: StoreBase }) {
  return class PhalanxSessionStore extends session.Store {
    private readonly o: Required<SessionStoreOptions>;

    constructor(options: SessionStoreOptions) {
      super();
      this.o = { prefix: "sess:", db: 0, ttlMs: DEFAULT_TTL_MS, nowMs: () => Date.now(), ...options };
    }

    private keyOf(sid: string): string {
      return storeKeyOf(frontPrefix("redis", this.o.db), enc.encode(`${this.o.prefix}${sid}`));
    }

    /** The session's deadline: its cookie's expiry, else now + ttlMs. */
    private deadlineOf(sess: SessionData): number {
      const expires = sess.cookie?.expires;
      if (expires !== undefined && expires !== null) return new Date(expires).getTime();
      return this.o.nowMs() + this.o.ttlMs;
    }

    get(sid: string, cb: Callback<SessionData | null>): void {
      this.o.client.call("POST", "/v3/kv/range", { key: b64(this.keyOf(sid)) }, true).then((j) => {
        const kv = (j.kvs as { value?: string }[] | undefined)?.[0];
        if (kv === undefined) return cb(null, null);
        const entry = decodeEntry(new Uint8Array(Buffer.from(kv.value ?? "", "base64")));
        if (entry === null || entry.type !== "string") return cb(new Error(`Session ${sid} is not stored in the sessions' format: delete it`));
        if (isExpired(entry, this.o.nowMs(), 0)) return cb(null, null);
        cb(null, JSON.parse(dec.decode(entry.value)) as SessionData);
      }, (err: unknown) => cb(err));
    }

    set(sid: string, sess: SessionData, cb: Callback = () => undefined): void {
      const expireAtMs = this.deadlineOf(sess);
      // Already past its deadline: delete instead of writing a dead session (connect-redis does too).
      if (expireAtMs <= this.o.nowMs()) return this.destroy(sid, cb);
      const value = encodeEntry({ type: "string", value: enc.encode(JSON.stringify(sess)), flags: 0, expireAtMs });
      this.o.client.call("POST", "/v3/kv/put", { key: b64(this.keyOf(sid)), value: b64(value) }, false).then(() => cb(null), (err: unknown) => cb(err));
    }

    /** Rewrites the session with its new deadline (express-session calls it on every request with rolling sessions). */
    touch(sid: string, sess: SessionData, cb: Callback = () => undefined): void {
      this.set(sid, sess, cb);
    }

    destroy(sid: string, cb: Callback = () => undefined): void {
      this.o.client.call("POST", "/v3/kv/deleterange", { key: b64(this.keyOf(sid)) }, false).then(() => cb(null), (err: unknown) => cb(err));
    }
  };
}
