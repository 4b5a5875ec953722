// The few file operations the storage needs, behind a small interface so that tests can count
// fsyncs and inject failures (ENOSPC, EIO) without touching a real disk's behaviour.
import { open, readdir, readFile, rename, unlink, mkdir } from "node:fs/promises";
import { createExclusive, pathExists, syncDirectory, writeWhole } from "../fsutil/file-ops.js";

/** An open file, written at explicit positions. */
export interface StorageFile {
  write(data: Uint8Array, position: number): Promise<void>;
  /** fdatasync: data and the metadata needed to read it back (the size) reach the disk. */
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

/** The file-system layer of the storage; `nodeFs` is the real one. */
export interface StorageFs {
  /** Opens an existing file for reading and writing. */
  openFile(path: string): Promise<StorageFile>;
  /** Creates a new file; fails if it exists. With `mode`, the file gets exactly that mode (umask ignored). */
  createFile(path: string, mode?: number): Promise<StorageFile>;
  readFile(path: string): Promise<Uint8Array>;
  /** Names in a directory; empty if the directory does not exist. */
  list(dir: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
  mkdir(dir: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** fsync of a directory, so that a created, renamed or removed name is durable. */
  syncDir(dir: string): Promise<void>;
}

/** The real file system, through node:fs/promises (libuv's thread pool). */
export const nodeFs: StorageFs = {
  async openFile(path) {
    return wrap(await open(path, "r+"));
  },
  async createFile(path, mode) {
    return wrap(await createExclusive(path, mode));
  },
  async readFile(path) {
    return readFile(path);
  },
  async list(dir) {
    try {
      return await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
  },
  exists: pathExists,
  async mkdir(dir) {
    await mkdir(dir, { recursive: true });
  },
  rename,
  unlink,
  syncDir: syncDirectory,
};

function wrap(handle: import("node:fs/promises").FileHandle): StorageFile {
  return {
    write: (data, position) => writeWhole(handle, data, position),
    datasync: () => handle.datasync(),
    truncate: (length) => handle.truncate(length),
    size: async () => (await handle.stat()).size,
    close: () => handle.close(),
  };
}
