// Instances die with their agent, even one killed with kill -9 (which runs no cleanup). A tiny
// shell process, started by the supervisor in its own session, holds the read end of a pipe from
// the agent and a list of the instances' process groups ("+PGID" / "-PGID" lines). When the agent
// dies for any reason the kernel closes the pipe; the watchdog reads end-of-file, SIGKILLs every
// group still listed and exits. It ignores INT/TERM/HUP so a signal meant for the agent's terminal
// or group does not remove it first. Chosen over a parent-death signal (prctl, out of reach from
// Node) and cgroups (need root and a cgroup hierarchy); it costs one `sh` per node.
import { spawn, type ChildProcess } from "node:child_process";
import type { Logger } from "pino";

/**
 * The shell lines that keep the "+PGID" / "-PGID" list read from stdin and SIGKILL every group
 * still listed at end-of-file. Shared with the demo's cluster watchdog (cli/commands/demo-cluster.ts),
 * which adds its own clean-up after them.
 */
export const GROUP_KILLER_LINES = `
groups=" "
while IFS= read -r line; do
  case "$line" in
    +[0-9]*) groups="$groups\${line#+} " ;;
    -[0-9]*) id=\${line#-}; kept=" "
             for g in $groups; do [ "$g" = "$id" ] || kept="$kept$g "; done
             groups=$kept ;;
  esac
done
for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done
`;

const WATCHDOG_SCRIPT = `
trap '' INT TERM HUP${GROUP_KILLER_LINES}`;

/** Bound on replacing a watchdog that died while the agent lives (someone killed it). */
const MAX_WATCHDOG_RESTARTS = 10;

/** Keeps the list of live process groups in a watchdog process that outlives a killed agent. */
export class Watchdog {
  private child: ChildProcess | null = null;
  private readonly groups = new Set<number>();
  private restarts = 0;
  private closed = false;

  constructor(private readonly logger: Logger) {
    this.start();
  }

  /** Process id of the watchdog (tests). */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** A group to kill if the agent dies. */
  add(pgid: number): void {
    this.groups.add(pgid);
    this.send(`+${pgid}\n`);
  }

  /** The group is gone (its id may be reused): forget it. */
  remove(pgid: number): void {
    if (this.groups.delete(pgid)) this.send(`-${pgid}\n`);
  }

  /** Ends the watchdog; call once no group is left (it would kill those still listed). */
  close(): void {
    this.closed = true;
    this.child?.stdin?.end();
    this.child = null;
  }

  private start(): void {
    const child = spawn("/bin/sh", ["-c", WATCHDOG_SCRIPT], { detached: true, stdio: ["pipe", "ignore", "ignore"] });
    // It must not keep the agent's event loop alive, and a broken pipe is reported by 'exit'.
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    // A write to a dead watchdog fails with EPIPE; its 'exit' below is where that is handled.
    child.stdin?.on("error", () => undefined);
    child.once("error", (err) => this.logger.error({ err }, "instance watchdog could not start: instances would outlive a killed agent"));
    child.once("exit", (code, signal) => {
      if (this.closed || this.child !== child) return;
      this.child = null;
      if (this.restarts >= MAX_WATCHDOG_RESTARTS) {
        this.logger.error({ code, signal }, `instance watchdog died ${this.restarts + 1} times; not restarting it: instances would outlive a killed agent`);
        return;
      }
      this.restarts++;
      this.logger.warn({ code, signal }, "instance watchdog died; starting a new one");
      this.start();
    });
    this.child = child;
    for (const g of this.groups) this.send(`+${g}\n`);
  }

  private send(line: string): void {
    this.child?.stdin?.write(line);
  }
}
