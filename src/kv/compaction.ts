// The leader's auto-compaction decision (etcd's --auto-compaction-mode=revision): keep the last
// `retainRevisions` revisions of history and propose a "compact" command when enough new ones piled
// up. Pure; the leader calls it now and then and proposes the answer through Raft.
import type { Revision } from "./types.js";

/** Default history kept: the last 10 000 revisions. */
export const DEFAULT_RETAIN_REVISIONS = 10_000;

/** Tuning of auto-compaction. */
export interface AutoCompactionOptions {
  /** Revisions of history to keep readable and watchable. */
  readonly retainRevisions: number;
  /** Do not compact for fewer new revisions than this (a compaction scans every key). */
  readonly minStepRevisions: number;
}

/** Default tuning: keep 10 000 revisions, compact in steps of at least 1000. */
export const DEFAULT_AUTO_COMPACTION: AutoCompactionOptions = { retainRevisions: DEFAULT_RETAIN_REVISIONS, minStepRevisions: 1000 };

/** The revision to propose in a "compact" command now, or undefined when it is not yet worth it. */
export function autoCompactRevision(
  store: { readonly revision: Revision; readonly compactRevision: Revision },
  options: AutoCompactionOptions = DEFAULT_AUTO_COMPACTION,
): Revision | undefined {
  const target = store.revision - options.retainRevisions;
  if (target <= 0 || target - store.compactRevision < Math.max(1, options.minStepRevisions)) return undefined;
  return target;
}
