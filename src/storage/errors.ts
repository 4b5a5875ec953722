// The storage's I/O failures. Two families: the data directory cannot be trusted (refuse to
// start, tell the operator what to do), and a write or fsync failed while running (stop
// acknowledging; the storage refuses further writes until it is reopened).

/** What went wrong, for code that maps errors to exit codes and metrics. */
export type StorageErrorCode =
  | "wal_corrupt" // a bad record that cannot be a torn tail
  | "wal_missing_segment" // a hole in the segment sequence or in the log's indexes
  | "snapshot_corrupt" // the snapshot the WAL depends on fails its checksum and nothing older is usable
  | "snapshot_missing" // the WAL depends on a snapshot file that is not there
  | "data_dir_invalid" // unknown format version, unreadable layout, bad metadata file
  | "data_dir_locked" // another live process has the directory open
  | "disk_full" // ENOSPC / EDQUOT while writing or syncing
  | "io_failed" // any other write, sync, rename or read failure
  | "storage_failed" // an earlier write or fsync failed; reopen to find out what is durable
  | "storage_closed";

/** Base class of every storage error: `code` says what, `file`/`offset` say where. */
export class StorageError extends Error {
  override readonly name: string = "StorageError";
  readonly code: StorageErrorCode;
  readonly file: string | null;
  readonly offset: number | null;

  constructor(code: StorageErrorCode, message: string, opts: { file?: string; offset?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.file = opts.file ?? null;
    this.offset = opts.offset ?? null;
  }
}

/** What an operator does when the data directory is damaged beyond a torn tail. */
export const RESTORE_ADVICE =
  "restore this node from a peer: stop it, move the data directory aside and rejoin the cluster with `phalanx join`";

/**
 * The data directory is damaged in a way that could hide acknowledged writes. The node must not
 * start from it: starting with less data than it acknowledged could break Raft's safety.
 */
export class StorageCorruptError extends StorageError {
  override readonly name = "StorageCorruptError";
}

/** A write, fsync or rename failed while running. */
export class StorageIoError extends StorageError {
  override readonly name = "StorageIoError";
}

/** Maps a Node.js system error from a write or sync to a StorageIoError with a precise code. */
export function ioError(action: string, file: string, cause: unknown): StorageIoError {
  const sys = (cause as NodeJS.ErrnoException | null)?.code;
  const full = sys === "ENOSPC" || sys === "EDQUOT";
  const detail = full ? "the disk is full" : sys ?? String(cause);
  return new StorageIoError(full ? "disk_full" : "io_failed", `Cannot ${action} ${file}: ${detail}`, { file, cause });
}
