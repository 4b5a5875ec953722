// A StorageFs for tests: wraps the real file system, counts syncs, injects errors (ENOSPC, EIO,
// partial writes) and simulates a crash part-way through a write followed by a power loss that
// keeps only part of what was written after each file's last fdatasync.
import { open, truncate as truncatePath, stat } from "node:fs/promises";
import { nodeFs } from "./fs.js";
import type { StorageFile, StorageFs } from "./fs.js";

/** A file operation a fault can be injected into. */
export type FaultOp = "write" | "datasync" | "create" | "rename" | "syncDir" | "truncate";

/** What an injected fault does: fail with `code`, after writing `partialBytes` of the data (writes only). */
export interface Fault {
  readonly code: string;
  readonly partialBytes?: number;
}

/** Makes a Node-style system error. */
export function systemError(code: string, op: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected fault, ${op} '${path}'`), { code, syscall: op, path });
}

/** The real file system with counters, fault injection and crash simulation. */
export class FaultFs implements StorageFs {
  datasyncs = 0;
  dirSyncs = 0;
  writes = 0;
  /** Return a fault to make the operation fail; null lets it through. */
  inject: (op: FaultOp, path: string) => Fault | null = () => null;
  private crashBudgetBytes = Infinity;
  private crashed = false;
  /** File length as of its last fdatasync (what survives a power loss for sure). */
  private readonly durableBytes = new Map<string, number>();
  private readonly openRefs = new Set<{ path: string }>();

  /** After `bytes` more bytes of writes, the process "dies": the crossing write is cut, every later call throws. */
  crashAfter(bytes: number): void {
    this.crashBudgetBytes = bytes;
  }

  /** True once the simulated crash happened. */
  get hasCrashed(): boolean {
    return this.crashed;
  }

  /**
   * Simulates a power loss: each file keeps its synced part plus a prefix of its unsynced tail,
   * of a length `pick(unsyncedBytes)` chooses. If `lostSector` returns an offset into the kept
   * unsynced part, the 512-byte sector holding it reads back as zeros (the disk wrote the
   * write's sectors out of order and lost that one).
   */
  async powerLoss(pick: (unsyncedBytes: number) => number, lostSector: (unsyncedBytes: number) => number | null = () => null): Promise<void> {
    for (const [path, durable] of this.durableBytes) {
      let size: number;
      try {
        size = (await stat(path)).size;
      } catch {
        continue; // deleted or renamed away
      }
      if (size <= durable) continue;
      const kept = pick(size - durable);
      await truncatePath(path, durable + kept);
      const at = kept > 0 ? lostSector(kept) : null;
      if (at === null) continue;
      const start = Math.max(durable, Math.floor((durable + at) / 512) * 512);
      const end = Math.min(durable + kept, Math.floor((durable + at) / 512) * 512 + 512);
      const handle = await open(path, "r+");
      try {
        await handle.write(new Uint8Array(end - start), 0, end - start, start);
      } finally {
        await handle.close();
      }
    }
  }

  private check(op: FaultOp, path: string): void {
    if (this.crashed) throw systemError("ECRASHED", op, path);
    const fault = this.inject(op, path);
    if (fault !== null) throw systemError(fault.code, op, path);
  }

  async openFile(path: string): Promise<StorageFile> {
    if (this.crashed) throw systemError("ECRASHED", "open", path);
    const file = await nodeFs.openFile(path);
    this.durableBytes.set(path, await file.size());
    return this.wrap(file, path);
  }

  async createFile(path: string, mode?: number): Promise<StorageFile> {
    this.check("create", path);
    const file = await nodeFs.createFile(path, mode);
    this.durableBytes.set(path, 0);
    return this.wrap(file, path);
  }

  readFile(path: string): Promise<Uint8Array> {
    return nodeFs.readFile(path);
  }

  list(dir: string): Promise<string[]> {
    return nodeFs.list(dir);
  }

  exists(path: string): Promise<boolean> {
    return nodeFs.exists(path);
  }

  async mkdir(dir: string): Promise<void> {
    if (this.crashed) throw systemError("ECRASHED", "mkdir", dir);
    await nodeFs.mkdir(dir);
  }

  async rename(from: string, to: string): Promise<void> {
    this.check("rename", to);
    await nodeFs.rename(from, to);
    const durable = this.durableBytes.get(from);
    this.durableBytes.delete(from);
    if (durable !== undefined) this.durableBytes.set(to, durable);
    for (const ref of this.openRefs) if (ref.path === from) ref.path = to;
  }

  async unlink(path: string): Promise<void> {
    if (this.crashed) throw systemError("ECRASHED", "unlink", path);
    await nodeFs.unlink(path);
    this.durableBytes.delete(path);
  }

  async syncDir(dir: string): Promise<void> {
    this.check("syncDir", dir);
    await nodeFs.syncDir(dir);
    this.dirSyncs++;
  }

  private wrap(file: StorageFile, path: string): StorageFile {
    // An open file keeps working after a rename; track its current name.
    const ref = { path };
    this.openRefs.add(ref);
    const where = (): string => ref.path;
    return {
      write: async (data, position) => {
        if (this.crashed) throw systemError("ECRASHED", "write", where());
        const fault = this.inject("write", where());
        if (fault !== null) {
          if (fault.partialBytes !== undefined) await file.write(data.subarray(0, fault.partialBytes), position);
          throw systemError(fault.code, "write", where());
        }
        if (data.length > this.crashBudgetBytes) {
          await file.write(data.subarray(0, this.crashBudgetBytes), position);
          this.crashed = true;
          throw systemError("ECRASHED", "write", where());
        }
        this.crashBudgetBytes -= data.length;
        await file.write(data, position);
        this.writes++;
      },
      datasync: async () => {
        this.check("datasync", where());
        await file.datasync();
        this.datasyncs++;
        this.durableBytes.set(where(), await file.size());
      },
      truncate: async (length) => {
        this.check("truncate", where());
        await file.truncate(length);
      },
      size: () => file.size(),
      close: async () => {
        this.openRefs.delete(ref);
        await file.close();
      },
    };
  }
}
