// The atomic write: the steps happen in the order that makes a crash harmless, a failure at any
// step leaves the old file and no temporary file, and secrets get exactly the mode asked for.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { createFileAtomic, nodeAtomicFs, writeFileAtomic } from "./atomic-file.js";
import type { AtomicFs } from "./atomic-file.js";

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-atomic-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

type Step = "create" | "write" | "datasync" | "rename" | "syncDir";

/** The real file system, recording each step and failing the one named in `failAt`. */
function recordingFs(failAt: Step | null = null): { fs: AtomicFs; steps: string[] } {
  const steps: string[] = [];
  const step = (name: Step, detail: string): void => {
    steps.push(`${name} ${detail}`);
    if (name === failAt) throw Object.assign(new Error(`EIO: injected fault, ${name}`), { code: "EIO" });
  };
  const fs: AtomicFs = {
    exists: (path) => nodeAtomicFs.exists(path),
    unlink: (path) => nodeAtomicFs.unlink(path),
    async createFile(path, mode) {
      step("create", path);
      const file = await nodeAtomicFs.createFile(path, mode);
      return {
        write: async (data, position) => { step("write", `${data.length}@${position}`); await file.write(data, position); },
        datasync: async () => { step("datasync", ""); await file.datasync(); },
        close: () => file.close(),
      };
    },
    rename: async (from, to) => { step("rename", `${from} ${to}`); await nodeAtomicFs.rename(from, to); },
    syncDir: async (dir) => { step("syncDir", dir); await nodeAtomicFs.syncDir(dir); },
  };
  return { fs, steps };
}

test("writeFileAtomic writes the temporary file, syncs it, renames it, then syncs the directory", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "config.yaml");
  const { fs, steps } = recordingFs();
  await writeFileAtomic(path, [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5])], { fs });
  assert.deepEqual(steps, [
    `create ${path}.tmp`, "write 3@0", "write 2@3", "datasync ", `rename ${path}.tmp ${path}`, `syncDir ${dir}`,
  ]);
  assert.deepEqual([...await readFile(path)], [1, 2, 3, 4, 5]);
  assert.deepEqual(await readdir(dir), ["config.yaml"]);
});

test("a failure at any step before the rename leaves the old file whole and no temporary file", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "token");
  await writeFile(path, "old\n");
  for (const failAt of ["create", "write", "datasync", "rename"] as const) {
    const { fs } = recordingFs(failAt);
    await assert.rejects(writeFileAtomic(path, "new\n", { fs }), (err: unknown) => (err as NodeJS.ErrnoException).code === "EIO", failAt);
    assert.equal(await readFile(path, "utf8"), "old\n", failAt);
    assert.deepEqual(await readdir(dir), ["token"], failAt);
  }
});

test("a failed directory fsync is reported although the new file is in place", async (t) => {
  // The rename may not survive a power loss, so the caller must not count the write as durable.
  const dir = await tempDir(t);
  const path = join(dir, "meta.json");
  await writeFile(path, "old");
  const { fs } = recordingFs("syncDir");
  await assert.rejects(writeFileAtomic(path, "new", { fs }), /injected fault, syncDir/);
  assert.equal(await readFile(path, "utf8"), "new");
});

test("a temporary file left by a crash is replaced, under the suffix the caller names", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "seg.wal");
  await writeFile(`${path}.part`, "half a write from before the crash");
  await writeFileAtomic(path, "whole", { tempSuffix: ".part" });
  assert.equal(await readFile(path, "utf8"), "whole");
  assert.deepEqual(await readdir(dir), ["seg.wal"]);
});

test("the mode is set exactly, whatever the umask", async (t) => {
  const dir = await tempDir(t);
  const previous = process.umask(0o077);
  t.after(() => process.umask(previous));
  await writeFileAtomic(join(dir, "secret"), "s", { mode: 0o600 });
  await writeFileAtomic(join(dir, "public"), "p", { mode: 0o644 });
  assert.equal((await stat(join(dir, "secret"))).mode & 0o777, 0o600);
  assert.equal((await stat(join(dir, "public"))).mode & 0o777, 0o644);
});

test("createFileAtomic returns the new file open for further writes", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "0001.wal");
  const file = await createFileAtomic(path, "head");
  try {
    await file.write(new TextEncoder().encode("+tail"), 4);
  } finally {
    await file.close();
  }
  assert.equal(await readFile(path, "utf8"), "head+tail");
});
