// A config source over the replicated store: frontends, pools and backends live under a key
// prefix, one JSON value per key, and a watch keeps the proxy current.
//
//   <prefix>frontends/<name>        a frontend, the same shape as in the YAML file
//   <prefix>pools/<name>            pool settings (algorithm, healthCheck, outlier, retry), no backends
//   <prefix>backends/<pool>/<id>    { "address": "10.0.0.5:8080", "weight": 1 }
//
// A pool named by a frontend or a backend but without a settings key gets the defaults. A value
// that does not validate is skipped and reported; the rest of the config still applies, because
// one bad key written by one service must not take down every other frontend.
import { z } from "zod";
import { formatPath } from "../../config/yaml.js";
import {
  backendSchema,
  checkFrontend,
  checkPool,
  frontendSchema,
  poolSettingsSchema,
  toFrontendSpec,
  toPoolSpec,
  type ProxyConfig,
} from "../../config/proxy.js";
import type { ListenAddress } from "../types.js";
import type { ConfigSink, ConfigSource } from "./source.js";

/** The default prefix the services write under. */
export const DEFAULT_PROXY_PREFIX = "/phalanx/proxy/";
/** Bound on keys under the prefix that the source keeps. */
export const MAX_PROXY_KEYS = 100_000;
/** Delay before re-listing after a watch fails (doubles up to the max). */
export const RESYNC_BASE_MS = 200;
export const RESYNC_MAX_MS = 10_000;

/** One key and value as the store returns them. */
export interface KvEntry {
  readonly key: string;
  readonly value: string;
  readonly modRevision: number;
  /** The lease the key is attached to (0: none); left out by clients that do not report it. */
  readonly lease?: number;
}

/** One change seen by a watch. */
export interface KvEvent {
  readonly type: "put" | "delete";
  readonly key: string;
  /** Present for puts. */
  readonly value?: string;
  readonly modRevision: number;
  /** Puts: the lease the key is attached to (0: none), when the client reports it. */
  readonly lease?: number;
}

/** A running watch. */
export interface KvWatch {
  cancel(): void;
}

/** The part of the store client this source needs (see the report / README for the contract). */
export interface KvWatchClient {
  /** Every key under `prefix` at one revision, and that revision. */
  getPrefix(prefix: string): Promise<{ readonly revision: number; readonly entries: readonly KvEntry[] }>;
  /**
   * Delivers, in revision order and in batches, every change under `prefix` from `fromRevision`
   * on; calls `onError` once if the watch ends (compaction, connection lost), after which the
   * source lists again.
   */
  watchPrefix(prefix: string, fromRevision: number, onEvents: (events: readonly KvEvent[]) => void, onError: (error: Error) => void): KvWatch;
}

/** A problem with one key; the key is skipped. */
export class StoreConfigError extends Error {
  override readonly name = "StoreConfigError";
  readonly code = "store_config_invalid";

  constructor(readonly key: string, detail: string) {
    super(`Cannot use ${key}: ${detail}`);
  }
}

/** Config assembled from the store. */
export class StoreConfigSource implements ConfigSource {
  private readonly values = new Map<string, string>();
  private watch: KvWatch | null = null;
  private sink: ConfigSink | null = null;
  private stopped = false;
  private resyncMs = RESYNC_BASE_MS;
  private resyncTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly client: KvWatchClient,
    private readonly options: { readonly prefix?: string; readonly admin?: ListenAddress | null } = {},
  ) {}

  private get prefix(): string {
    return this.options.prefix ?? DEFAULT_PROXY_PREFIX;
  }

  async start(sink: ConfigSink): Promise<ProxyConfig> {
    this.sink = sink;
    const revision = await this.list();
    this.startWatch(revision + 1);
    return this.assemble();
  }

  stop(): void {
    this.stopped = true;
    this.watch?.cancel();
    this.watch = null;
    if (this.resyncTimer !== null) clearTimeout(this.resyncTimer);
    this.sink = null;
  }

  private async list(): Promise<number> {
    const { revision, entries } = await this.client.getPrefix(this.prefix);
    this.values.clear();
    for (const e of entries.slice(0, MAX_PROXY_KEYS)) this.values.set(e.key, e.value);
    return revision;
  }

  private startWatch(fromRevision: number): void {
    this.watch = this.client.watchPrefix(
      this.prefix,
      fromRevision,
      (events) => this.onEvents(events),
      (error) => this.onWatchError(error),
    );
  }

  private onEvents(events: readonly KvEvent[]): void {
    if (this.stopped) return;
    for (const e of events) {
      if (e.type === "delete") this.values.delete(e.key);
      else if (this.values.has(e.key) || this.values.size < MAX_PROXY_KEYS) this.values.set(e.key, e.value ?? "");
      else this.sink?.onError(new StoreConfigError(e.key, `over the bound of ${MAX_PROXY_KEYS} keys under ${this.prefix}`));
    }
    this.sink?.onConfig(this.assemble());
  }

  private onWatchError(error: Error): void {
    if (this.stopped) return;
    this.watch = null;
    this.sink?.onError(new Error(`Watch on ${this.prefix} ended, listing again: ${error.message}`, { cause: error }));
    this.resyncTimer = setTimeout(() => void this.resync(), this.resyncMs);
    this.resyncTimer.unref();
    this.resyncMs = Math.min(this.resyncMs * 2, RESYNC_MAX_MS);
  }

  private async resync(): Promise<void> {
    this.resyncTimer = null;
    if (this.stopped) return;
    try {
      const revision = await this.list();
      if (this.stopped) return;
      this.resyncMs = RESYNC_BASE_MS;
      this.startWatch(revision + 1);
      this.sink?.onConfig(this.assemble());
    } catch (err) {
      this.onWatchError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Builds a config from the keys held now, reporting and skipping bad ones. */
  assemble(): ProxyConfig {
    const report = (key: string, detail: string): void => this.sink?.onError(new StoreConfigError(key, detail));
    const settings = new Map<string, z.output<typeof poolSettingsSchema>>();
    const backends = new Map<string, Array<z.output<typeof backendSchema>>>();
    const frontends: Array<{ key: string; value: z.output<typeof frontendSchema> }> = [];
    const keys = [...this.values.keys()].sort();
    for (const key of keys) {
      const rest = key.slice(this.prefix.length).split("/");
      const raw = this.values.get(key) ?? "";
      const [kind, a, b] = rest;
      if (kind === "frontends" && a !== undefined && rest.length === 2) {
        const parsed = parseValue(raw, frontendSchema, report, key);
        if (parsed === undefined) continue;
        if (parsed.name !== a) report(key, `name "${parsed.name}" differs from the key's "${a}"`);
        else frontends.push({ key, value: parsed });
      } else if (kind === "pools" && a !== undefined && rest.length === 2) {
        const parsed = parseValue(raw, poolSettingsSchema, report, key);
        if (parsed === undefined) continue;
        if (parsed.name !== a) report(key, `name "${parsed.name}" differs from the key's "${a}"`);
        else settings.set(a, parsed);
      } else if (kind === "backends" && a !== undefined && b !== undefined && rest.length === 3) {
        const parsed = parseValue(raw, backendSchema.omit({ id: true }), report, key);
        if (parsed === undefined) continue;
        const list = backends.get(a) ?? [];
        list.push({ id: b, ...parsed });
        backends.set(a, list);
      } else {
        report(key, `unknown key layout; expected ${this.prefix}frontends/<name>, pools/<name> or backends/<pool>/<id>`);
      }
    }
    const poolNames = new Set<string>([...settings.keys(), ...backends.keys()]);
    for (const f of frontends) {
      if (f.value.pool !== undefined) poolNames.add(f.value.pool);
      for (const r of f.value.routes ?? []) poolNames.add(r.pool);
    }
    const pools = [...poolNames].sort().flatMap((name) => {
      const s = settings.get(name) ?? poolSettingsSchema.parse({ name });
      const members = backends.get(name) ?? [];
      const problems: string[] = [];
      checkPool({ ...s, backends: members }, [], (path, message) => problems.push(`${formatPath(path)}: ${message}`));
      if (problems.length > 0) {
        report(`${this.prefix}pools/${name}`, problems.join("; "));
        return [toPoolSpec(poolSettingsSchema.parse({ name }), members)];
      }
      return [toPoolSpec(s, members)];
    });
    const specs = frontends.flatMap(({ key, value }) => {
      const problems: string[] = [];
      checkFrontend(value, poolNames, [], (path, message) => problems.push(`${formatPath(path)}: ${message}`));
      if (problems.length > 0) {
        report(key, problems.join("; "));
        return [];
      }
      return [toFrontendSpec(value, "/")];
    });
    return { admin: this.options.admin ?? null, frontends: specs, pools };
  }
}

function parseValue<T>(raw: string, schema: z.ZodType<T, z.ZodTypeDef, unknown>, report: (key: string, detail: string) => void, key: string): T | undefined {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    report(key, `value is not JSON: ${(err as Error).message}`);
    return undefined;
  }
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  report(key, result.error.issues.map((i) => `${formatPath(i.path) || "value"}: ${i.message}`).join("; "));
  return undefined;
}
