// memcached's exptime rule (memcached.c realtime(), EXPTIME_TO_POSITIVE_TIME): 0 never expires; up
// to 30 days (2592000 s, inclusive) is seconds from now; above that it is an absolute Unix time in
// seconds (in the past: already expired); negative is already expired. Getting the 30-day boundary
// wrong loses long sessions at once, so it lives in one pure, tested place. The clock is injected.

/** memcached's REALTIME_MAXDELTA: the largest relative exptime, 30 days in seconds. */
export const MEMCACHED_RELATIVE_EXPTIME_MAX_S = 60 * 60 * 24 * 30;

/** When an item expires. */
export type MemcachedDeadline =
  | { kind: "never" }
  | { kind: "expired" }
  | { kind: "at"; atMs: number };

/** Converts a memcached exptime (seconds, relative or absolute) to a deadline in Unix ms, given now. */
export function memcachedDeadline(exptimeS: number, nowMs: number): MemcachedDeadline {
  if (!Number.isInteger(exptimeS)) throw new Error(`Cannot convert exptime ${exptimeS}: not an integer (the parser accepts only integers)`);
  if (exptimeS === 0) return { kind: "never" };
  if (exptimeS < 0) return { kind: "expired" };
  if (exptimeS <= MEMCACHED_RELATIVE_EXPTIME_MAX_S) return { kind: "at", atMs: nowMs + exptimeS * 1000 };
  const atMs = exptimeS * 1000;
  return atMs <= nowMs ? { kind: "expired" } : { kind: "at", atMs };
}
