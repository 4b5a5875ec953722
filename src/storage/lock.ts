// One process per data directory: two nodes appending to the same WAL would destroy it. The
// lock is a `LOCK` file holding the owner's pid and the kernel's boot id, created exclusively.
// A lock whose process is gone (a crash, kill -9), that was written before the last reboot (the
// pid may now belong to anything), or that is incomplete (power lost while writing it) is taken
// over, so a restart after a crash needs no manual step.
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ioError, StorageError } from "./errors.js";
import type { StorageFs } from "./fs.js";

/** File name of the lock inside the data directory. */
export const LOCK_FILE = "LOCK";

function bootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "unknown"; // not Linux: fall back to the pid check alone
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // exists, owned by another user
  }
}

/** Takes the data directory's lock; returns the function that releases it. */
export async function lockDataDir(fs: StorageFs, dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  if (await fs.exists(path)) {
    const m = /^(\d+) (\S+)\n$/.exec(Buffer.from(await fs.readFile(path)).toString("utf8"));
    const pid = Number(m?.[1]);
    if (m !== null && m[2] === bootId() && pid !== process.pid && isAlive(pid)) {
      throw new StorageError("data_dir_locked",
        `Cannot open ${dir}: process ${pid} holds ${path}; stop that process first, or delete the file if no Phalanx process uses this directory`,
        { file: path });
    }
    await fs.unlink(path);
  }
  try {
    const file = await fs.createFile(path);
    try {
      await file.write(Buffer.from(`${process.pid} ${bootId()}\n`), 0);
    } finally {
      await file.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new StorageError("data_dir_locked", `Cannot open ${dir}: another process took ${path} at the same moment`, { file: path, cause: err });
    }
    throw ioError("create lock file", path, err);
  }
  return async () => {
    await fs.unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
  };
}
