// The harness's shell: `ip` and `nft` commands, run as child processes, async for normal use and
// sync for the process-exit path (an 'exit' handler cannot wait). Knows nothing of hosts or faults.
import { execFile, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Longest one `ip`/`nft` command may take before it counts as hung. */
export const COMMAND_TIMEOUT_MS = 15_000;

/** A failed `ip`/`nft` command, with what it printed. */
export class HostCommandError extends Error {
  override readonly name = "HostCommandError";
  readonly code = "host_command_failed";
  constructor(readonly argv: readonly string[], readonly stderr: string, options?: { cause?: unknown }) {
    super(`Command failed: ${argv.join(" ")}: ${stderr.trim() || "no output"}`, options);
  }
}

/** Runs `cmd args` and resolves with its stdout; rejects with HostCommandError on failure. */
export function run(cmd: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: COMMAND_TIMEOUT_MS, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) reject(new HostCommandError([cmd, ...args], stderr || err.message, { cause: err }));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Attempts of runSync when the command itself is killed by a signal. */
const SYNC_ATTEMPTS_MAX = 3;

/**
 * The sync twin of run(), for exit handlers; returns null instead of throwing. A command killed by
 * a signal is run again: during Ctrl-C or a supervisor's group-wide SIGTERM, a second signal to the
 * process group can hit the cleanup's own `ip` (killing `ip netns del` between unmount and unlink).
 */
export function runSync(cmd: string, args: readonly string[]): string | null {
  for (let attempt = 1; ; attempt++) {
    const r = spawnSync(cmd, args, { timeout: COMMAND_TIMEOUT_MS, encoding: "utf8" });
    if (r.status === 0) return r.stdout;
    if (r.signal === null || attempt >= SYNC_ATTEMPTS_MAX) return null;
  }
}

/** Names of all network namespaces (`ip netns list` prints "name (id: 3)"). */
export function parseNetnsList(out: string): string[] {
  return out.split("\n").map((line) => line.trim().split(/\s+/)[0] ?? "").filter((n) => n !== "");
}

export async function listNamespaces(): Promise<string[]> {
  return parseNetnsList(await run("ip", ["netns", "list"]));
}

/** Pids of every process whose network namespace is `ns`. */
export async function namespacePids(ns: string): Promise<number[]> {
  return parsePids(await run("ip", ["netns", "pids", ns]));
}

function parsePids(out: string): number[] {
  return out.split(/\s+/).filter((s) => /^\d+$/.test(s)).map(Number);
}

/** Sends `signal` to a pid; false when it no longer exists. */
export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw err;
  }
}

/** The state letter of `pid` from /proc (R, S, T = stopped, Z = zombie, …), or null when gone. */
export function processState(pid: number): string | null {
  try {
    return /\) (\S) /.exec(readFileSync(`/proc/${pid}/stat`, "utf8"))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Whether `pid` is a running process; a zombie (exited, not yet reaped by its parent) is not. */
export function pidAlive(pid: number): boolean {
  const state = processState(pid);
  return state !== null && state !== "Z";
}

/**
 * Waits until every pid is stopped (`stopped` true) or no longer stopped, or has exited. A signal
 * is delivered asynchronously: kill() returns while the target may still run on another core.
 */
export async function waitStopped(pids: readonly number[], stopped: boolean, deadlineMs = 5_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const pending = pids.filter((pid) => {
      const state = processState(pid);
      return state !== null && state !== "Z" && (state === "T") !== stopped;
    });
    if (pending.length === 0) return;
    if (Date.now() > until) throw new Error(`Pids ${pending.join(", ")} did not ${stopped ? "stop" : "resume"} within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Kills every process in each namespace and deletes the namespaces, synchronously. A namespace
 * whose processes are still dying is released by the kernel once they are gone; with it go the
 * veth ends, the bridge and the nft tables inside it, so nothing else needs deleting.
 */
export function destroyNamespacesSync(names: readonly string[]): void {
  for (const ns of names) {
    const pids = runSync("ip", ["netns", "pids", ns]);
    if (pids === null) continue; // already gone
    for (const pid of parsePids(pids)) signalPid(pid, "SIGKILL");
    runSync("ip", ["netns", "del", ns]);
  }
}

/** Kills every process in `ns`, waits (up to `deadlineMs`) until none is left, deletes `ns`. */
export async function destroyNamespace(ns: string, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    let pids: number[];
    try {
      pids = await namespacePids(ns);
    } catch {
      return; // already gone
    }
    if (pids.length === 0) break;
    for (const pid of pids) signalPid(pid, "SIGKILL");
    if (Date.now() > until) throw new Error(`Cannot delete namespace ${ns}: processes ${pids.join(", ")} survive SIGKILL after ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  try {
    await run("ip", ["netns", "del", ns]);
  } catch (err) {
    // Another process's cleanupStale may have deleted it meanwhile: gone is what we wanted.
    if ((await listNamespaces()).includes(ns)) throw err;
  }
}

/** The pid a harness namespace name embeds (`<prefix><pid>-<n>-<node>`), or null for other names. */
export function ownerPid(name: string, prefix: string): number | null {
  if (!name.startsWith(prefix)) return null;
  const m = /^(\d+)-/.exec(name.slice(prefix.length));
  return m === null ? null : Number(m[1]);
}

/**
 * Removes the namespaces (with their processes, links and tables) that harness runs of dead
 * processes left behind — a run killed with SIGKILL cannot clean up after itself. Namespaces of
 * live processes (parallel test files) are left alone. Returns the names removed.
 */
export async function cleanupStale(prefix: string): Promise<string[]> {
  const stale = (await listNamespaces()).filter((name) => {
    const pid = ownerPid(name, prefix);
    return pid !== null && pid !== process.pid && !pidAlive(pid);
  });
  for (const ns of stale) await destroyNamespace(ns);
  return stale;
}

/** Whether this process can build a harness: root, iproute2, nftables, namespaces, bridges. */
export type HostSupport = { ok: true } | { ok: false; reason: string };

/** Tries the whole tool chain once in a scratch namespace and removes it again. */
export async function probeHostSupport(scratchNs: string): Promise<HostSupport> {
  if (process.platform !== "linux") return { ok: false, reason: `runs on Linux only, not ${process.platform}` };
  if (process.getuid?.() !== 0) return { ok: false, reason: "not running as root" };
  for (const [tool, pkg] of [["ip", "iproute2"], ["nft", "nftables"]] as const) {
    if (runSync(tool, ["-V"]) === null) return { ok: false, reason: `\`${tool}\` is not installed (Debian package ${pkg})` };
  }
  try {
    await run("ip", ["netns", "add", scratchNs]);
  } catch (err) {
    return { ok: false, reason: `\`ip netns add\` failed (no CAP_SYS_ADMIN?): ${(err as HostCommandError).stderr.trim()}` };
  }
  try {
    await run("ip", ["-n", scratchNs, "link", "add", "br0", "type", "bridge"]);
    await run("ip", ["netns", "exec", scratchNs, "nft", "-f", "-"], "table bridge probe {\n chain faults {\n  type filter hook forward priority 0; policy accept;\n }\n}\n");
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: `cannot create a bridge with an nftables table in a namespace: ${(err as HostCommandError).stderr?.trim() ?? String(err)}` };
  } finally {
    await destroyNamespace(scratchNs);
  }
}
