// The real file system's few operations that both the atomic write (atomic-file.ts) and the
// storage's file layer (storage/fs.ts) need, written once: exact-mode creation, whole writes,
// existence and directory fsync.
import { open, stat } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";

/** Creates a new file (failing if it exists) with exactly `mode` when given: open() applies the umask, a secret must not. */
export async function createExclusive(path: string, mode?: number): Promise<FileHandle> {
  const handle = await open(path, "wx", mode);
  try {
    if (mode !== undefined) await handle.chmod(mode);
  } catch (err) {
    await handle.close();
    throw err;
  }
  return handle;
}

/** Writes all of `data` at `position`: a regular file may take a write in several pieces. */
export async function writeWhole(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    if (bytesWritten <= 0) throw Object.assign(new Error("write made no progress"), { code: "EIO" });
    done += bytesWritten;
  }
}

/** True when `path` exists; other errors than ENOENT are thrown. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

/** fsync of a directory, so that a created, renamed or removed name in it is durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
