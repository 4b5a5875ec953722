// Chooses the pool for a request from the frontend's routes: a route naming the request's host
// (exact, case-insensitive, port ignored) beats a route for any host; among those, the longest
// matching path prefix wins (plain string prefix, as HAProxy's path_beg and nginx's prefix
// locations do). Pure.
import type { HttpRoute } from "../types.js";

interface CompiledRoute {
  readonly host: string | undefined;
  readonly prefix: string;
  readonly pool: string;
}

/** Host without port, lowercased: "Example.com:8080" → "example.com", "[::1]:80" → "[::1]". */
export function hostWithoutPort(host: string): string {
  let end = host.length;
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    end = close < 0 ? host.length : close + 1;
  } else {
    const colon = host.indexOf(":");
    if (colon >= 0) end = colon;
  }
  const h = end === host.length ? host : host.slice(0, end);
  return h.toLowerCase();
}

/** The path of a request target (origin-form or absolute-form), without the query. */
export function targetPath(target: string): string {
  let start = 0;
  if (!target.startsWith("/")) {
    const scheme = target.indexOf("://");
    if (scheme < 0) return target; // "*" or authority-form
    const slash = target.indexOf("/", scheme + 3);
    if (slash < 0) return "/";
    start = slash;
  }
  const q = target.indexOf("?", start);
  return q < 0 ? (start === 0 ? target : target.slice(start)) : target.slice(start, q);
}

/** The authority of an absolute-form target ("http://a.example/x" → "a.example"), or undefined. */
export function targetAuthority(target: string): string | undefined {
  if (target.startsWith("/")) return undefined;
  const scheme = target.indexOf("://");
  if (scheme < 0) return undefined;
  const slash = target.indexOf("/", scheme + 3);
  return target.slice(scheme + 3, slash < 0 ? target.length : slash);
}

/** Compiled route table. */
export class Router {
  private readonly routes: readonly CompiledRoute[];
  /** Set when one route takes every request: no need to look at host or path. */
  readonly catchAllPool: string | undefined;
  /** Whether any route looks at the host. */
  readonly usesHost: boolean;

  constructor(routes: readonly HttpRoute[]) {
    const compiled = routes.map((r) => ({ host: r.host?.toLowerCase(), prefix: r.pathPrefix ?? "", pool: r.pool }));
    // Host-specific routes first, then longest prefix first: the first match is the best one.
    compiled.sort((a, b) => {
      const ha = a.host === undefined ? 1 : 0;
      const hb = b.host === undefined ? 1 : 0;
      return ha !== hb ? ha - hb : b.prefix.length - a.prefix.length;
    });
    this.routes = compiled;
    const first = compiled[0];
    this.catchAllPool = compiled.length > 0 && first !== undefined && first.host === undefined && first.prefix === ""
      ? first.pool : undefined;
    this.usesHost = compiled.some((r) => r.host !== undefined);
  }

  /** The pool for a request, or undefined when no route matches (404). `host` is without port. */
  match(host: string, path: string): string | undefined {
    if (this.catchAllPool !== undefined) return this.catchAllPool;
    for (const r of this.routes) {
      if (r.host !== undefined && r.host !== host) continue;
      if (path.startsWith(r.prefix)) return r.pool;
    }
    return undefined;
  }
}
