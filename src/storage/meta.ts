// The node's identity in its data directory (`meta.json`): which cluster and which member this
// directory belongs to, so that a node never starts on another cluster's data. Replaced
// atomically (fsutil/atomic-file.ts: temporary file, fdatasync, rename, directory fsync).
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { z } from "zod";
import { writeFileAtomic } from "../fsutil/atomic-file.js";
import { ioError, RESTORE_ADVICE, StorageCorruptError } from "./errors.js";
import type { StorageFs } from "./fs.js";
import { TEMP_SUFFIX } from "./snapshot.js";

/** File name of the identity file inside the data directory. */
export const META_FILE = "meta.json";

const nodeMetaSchema = z.object({
  clusterId: z.string().min(1),
  nodeId: z.number().int().positive(),
}).strict();

/** Cluster identity of a data directory. */
export type NodeMeta = z.infer<typeof nodeMetaSchema>;

/** Reads meta.json; null when the directory has none yet. */
export async function readMeta(fs: StorageFs, dir: string): Promise<NodeMeta | null> {
  const path = join(dir, META_FILE);
  if (!(await fs.exists(path))) return null;
  let text: string;
  try {
    text = Buffer.from(await fs.readFile(path)).toString("utf8");
  } catch (err) {
    throw ioError("read", path, err);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new StorageCorruptError("data_dir_invalid", `Cannot read ${path}: it is not valid JSON; ${RESTORE_ADVICE}`, { file: path, cause: err });
  }
  const result = nodeMetaSchema.safeParse(parsed);
  if (!result.success) {
    throw new StorageCorruptError("data_dir_invalid",
      `Cannot read ${path}: ${result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`, { file: path });
  }
  return result.data;
}

/** Replaces meta.json atomically. */
export async function writeMeta(fs: StorageFs, dir: string, meta: NodeMeta): Promise<void> {
  const path = join(dir, META_FILE);
  const bytes = Buffer.from(JSON.stringify(nodeMetaSchema.parse(meta)) + "\n", "utf8");
  try {
    await writeFileAtomic(path, bytes, { fs, tempSuffix: TEMP_SUFFIX });
  } catch (err) {
    throw ioError("write", path, err);
  }
}
