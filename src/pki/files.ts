// The PKI on disk: ca.crt, ca.key, node.crt, node.key in PEM in one directory. Private keys are
// written with mode 0600 (and certificates 0644), each file atomically (fsutil/atomic-file.ts:
// temporary file, fsync, rename, directory fsync), so a crash leaves either the old file or the
// new one, never half of one.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../fsutil/atomic-file.js";
import type { ClusterCa } from "./ca.js";
import { clusterIdOfCa } from "./ca-info.js";
import type { IssuedCredentials } from "./issue.js";

/** File names inside a PKI directory. */
export const PKI_FILES = { caCert: "ca.crt", caKey: "ca.key", nodeCert: "node.crt", nodeKey: "node.key" } as const;
/** Mode of private key files: owner read/write only. */
export const KEY_FILE_MODE = 0o600;
/** Mode of certificate files: public. */
export const CERT_FILE_MODE = 0o644;

/** A file operation of the PKI failed. */
export class PkiFileError extends Error {
  override readonly name = "PkiFileError";
  constructor(message: string, readonly code: string, readonly path: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Options of the write functions. */
export interface WritePkiOptions {
  /** Replace existing files (default false: refuse, so `init` never clobbers a cluster's CA). */
  readonly overwrite?: boolean;
}

/** Writes ca.crt and ca.key into `dir`. */
export async function writeClusterCa(dir: string, ca: ClusterCa, options: WritePkiOptions = {}): Promise<void> {
  await writePkiFile(join(dir, PKI_FILES.caCert), ca.certPem, CERT_FILE_MODE, options);
  await writePkiFile(join(dir, PKI_FILES.caKey), ca.keyPem, KEY_FILE_MODE, options);
}

/** Writes node.crt and node.key into `dir`, and ca.crt when given (a joining node has no CA key). */
export async function writeNodeCredentials(dir: string, creds: IssuedCredentials, caCertPem?: string, options: WritePkiOptions = {}): Promise<void> {
  if (caCertPem !== undefined) await writePkiFile(join(dir, PKI_FILES.caCert), caCertPem, CERT_FILE_MODE, options);
  await writePkiFile(join(dir, PKI_FILES.nodeKey), creds.keyPem, KEY_FILE_MODE, options);
  await writePkiFile(join(dir, PKI_FILES.nodeCert), creds.certPem, CERT_FILE_MODE, options);
}

/** Reads the cluster CA (certificate and key) from `dir`. */
export async function loadClusterCa(dir: string): Promise<ClusterCa> {
  const certPem = await readPkiFile(join(dir, PKI_FILES.caCert));
  const keyPem = await readPkiFile(join(dir, PKI_FILES.caKey));
  const clusterId = clusterIdOfCa(certPem);
  if (clusterId === null) {
    throw new PkiFileError(`Cannot load cluster CA from ${join(dir, PKI_FILES.caCert)}: it is not a Phalanx cluster CA`, "EBADCA", join(dir, PKI_FILES.caCert));
  }
  return { clusterId, certPem, keyPem };
}

/** What a node needs to speak TLS to its peers. */
export interface NodeTlsFiles {
  readonly caCertPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** Reads ca.crt, node.crt and node.key from `dir`. */
export async function loadNodeCredentials(dir: string): Promise<NodeTlsFiles> {
  return {
    caCertPem: await readPkiFile(join(dir, PKI_FILES.caCert)),
    certPem: await readPkiFile(join(dir, PKI_FILES.nodeCert)),
    keyPem: await readPkiFile(join(dir, PKI_FILES.nodeKey)),
  };
}

async function readPkiFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? "EIO";
    throw new PkiFileError(`Cannot read ${path}: ${code === "ENOENT" ? "file is missing (run phalanx init or join first)" : code}`, code, path, { cause });
  }
}

async function writePkiFile(path: string, text: string, mode: number, options: WritePkiOptions): Promise<void> {
  if (options.overwrite !== true) {
    const exists = await readFile(path).then(() => true, () => false);
    if (exists) throw new PkiFileError(`Cannot write ${path}: file exists (refusing to replace PKI material)`, "EEXIST", path);
  }
  try {
    await writeFileAtomic(path, text, { mode });
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? "EIO";
    throw new PkiFileError(`Cannot write ${path}: ${code}`, code, path, { cause });
  }
}
