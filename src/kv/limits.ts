// Named limits of the store. They bound memory per request and per command; the server checks them
// before proposing (validateCommand) and every replica checks them again when applying.

/** Longest key, in UTF-8 bytes. etcd has no separate key limit; 4 KiB keeps index memory sane. */
export const MAX_KEY_BYTES = 4096;
/** Largest value, in bytes: 1.5 MiB, etcd's default request size limit. */
export const MAX_VALUE_BYTES = 1.5 * 1024 * 1024;
/** Most operations (and, separately, compares) in one txn branch: etcd's --max-txn-ops default. */
export const MAX_TXN_OPS = 128;
/** Most lease ids in one leaseExpire command. */
export const MAX_EXPIRE_BATCH = 1024;
/** Shortest lease TTL accepted. The server may enforce a larger floor (a few election timeouts). */
export const MIN_LEASE_TTL_MS = 1;
/** Longest lease TTL accepted: 30 days. */
export const MAX_LEASE_TTL_MS = 30 * 24 * 3600 * 1000;
/** Most leases alive at once. */
export const MAX_LEASES = 1_000_000;
