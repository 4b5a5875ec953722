// Spawning an instance as the leader of its own process group (detached: setsid), so one signal
// to the negative pid reaches the whole group — workers, shells, everything the instance forked —
// and stopping it leaves nothing behind.
import { spawn, type ChildProcess } from "node:child_process";
import { statSync } from "node:fs";
import type { RunAs } from "./run-as.js";

export interface SpawnRequest {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly runAs: RunAs | null;
  /** Pipe stdout/stderr (to the log) or ignore them (checks). */
  readonly output: "pipe" | "ignore";
}

/** Spawns a group leader. Throws with a precise message when it cannot even be tried. */
export function spawnGroupLeader(req: SpawnRequest): ChildProcess {
  if (req.cwd !== undefined) {
    // Checked here because a missing cwd surfaces from spawn as "spawn <command> ENOENT", which
    // blames the command.
    let isDir = false;
    try {
      isDir = statSync(req.cwd).isDirectory();
    } catch (err) {
      throw new Error(`working directory ${req.cwd} cannot be used: ${(err as Error).message}`, { cause: err });
    }
    if (!isDir) throw new Error(`working directory ${req.cwd} is not a directory`);
  }
  return spawn(req.command, [...req.args], {
    cwd: req.cwd,
    env: { ...req.env },
    detached: true,
    stdio: ["ignore", req.output, req.output],
    ...(req.runAs === null ? {} : { uid: req.runAs.uid, gid: req.runAs.gid }),
  });
}

/** Sends `signal` to every process of group `pgid`; false when the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw err;
  }
}
