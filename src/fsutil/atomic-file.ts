// The one way Phalanx replaces a file durably: write it under a temporary name, fdatasync it,
// rename it over the real name and fsync the directory. A crash at any point leaves either the
// old file or the whole new one, never part of one; without the directory fsync the rename itself
// may be lost on power failure. Used by the storage (meta.json, snapshots, WAL segments), the PKI
// files and the CLI's token and config files.
import { rename, unlink } from "node:fs/promises";
import { createExclusive, pathExists, syncDirectory, writeWhole } from "./file-ops.js";
import { dirname } from "node:path";

/** An open file as the atomic write needs it. */
export interface AtomicFile {
  write(data: Uint8Array, position: number): Promise<void>;
  /** fdatasync: the data and the size reach the disk. */
  datasync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The file operations an atomic write needs. The storage passes its `StorageFs` (which a test
 * can fill with faults); everyone else gets the real file system.
 */
export interface AtomicFs<F extends AtomicFile = AtomicFile> {
  exists(path: string): Promise<boolean>;
  /** Creates a new file, failing if it exists, with exactly `mode` when given (umask ignored). */
  createFile(path: string, mode?: number): Promise<F>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** fsync of a directory, so that a created or renamed name in it is durable. */
  syncDir(dir: string): Promise<void>;
}

/** Suffix of the temporary file, unless the caller names another. */
export const DEFAULT_TEMP_SUFFIX = ".tmp";

/** Options of an atomic write. */
export interface AtomicWriteOptions<F extends AtomicFile = AtomicFile> {
  /** The file system; default the real one. */
  readonly fs?: AtomicFs<F>;
  /** Mode of the new file (e.g. 0o600 for secrets), set exactly whatever the umask; default the file system's. */
  readonly mode?: number;
  /** Suffix of the temporary name next to `path` (default `.tmp`); the storage deletes leftovers by it. */
  readonly tempSuffix?: string;
}

/** The real file system, through node:fs/promises. */
export const nodeAtomicFs: AtomicFs = {
  exists: pathExists,
  async createFile(path, mode) {
    const handle = await createExclusive(path, mode);
    return {
      write: (data, position) => writeWhole(handle, data, position),
      datasync: () => handle.datasync(),
      close: () => handle.close(),
    };
  },
  rename,
  unlink,
  syncDir: syncDirectory,
};

/**
 * Replaces `path` with `content` atomically and durably (temporary file, fdatasync, rename,
 * directory fsync). Errors are the file system's own; callers wrap them with their context.
 */
export async function writeFileAtomic(path: string, content: string | Uint8Array | readonly Uint8Array[], options: AtomicWriteOptions = {}): Promise<void> {
  const file = await createFileAtomic(path, content, options);
  await file.close();
}

/**
 * Like writeFileAtomic, but returns the new file still open (for the WAL, which keeps appending
 * to a segment after writing its header). The caller closes it.
 */
export async function createFileAtomic<F extends AtomicFile = AtomicFile>(
  path: string, content: string | Uint8Array | readonly Uint8Array[], options: AtomicWriteOptions<F> = {}): Promise<F> {
  // Without options.fs, F is the default AtomicFile, which is what nodeAtomicFs makes.
  const fs = options.fs ?? (nodeAtomicFs as AtomicFs<AtomicFile> as AtomicFs<F>);
  const temp = path + (options.tempSuffix ?? DEFAULT_TEMP_SUFFIX);
  const chunks = typeof content === "string" ? [new TextEncoder().encode(content)] : content instanceof Uint8Array ? [content] : content;
  let file: F | null = null;
  try {
    // A leftover from a crash during an earlier write of the same file.
    if (await fs.exists(temp)) await fs.unlink(temp);
    file = await fs.createFile(temp, options.mode);
    let position = 0;
    for (const chunk of chunks) {
      await file.write(chunk, position);
      position += chunk.length;
    }
    await file.datasync();
    await fs.rename(temp, path);
    await fs.syncDir(dirname(path));
    return file;
  } catch (err) {
    // The write's error is the one to report; cleaning up is best effort (the storage also
    // deletes leftover temporary files when it opens).
    if (file !== null) await file.close().catch(() => undefined);
    await fs.unlink(temp).catch(() => undefined);
    throw err;
  }
}
