// The shell that puts a virtual IP on this host and takes it off: `ip addr add/del` on one
// interface, and announcements that make the neighbours send to this host at once instead of
// waiting for their ARP entries to time out — gratuitous ARP for IPv4 (`arping`, either Debian's
// `arping` package by Thomas Habets or `iputils-arping`), an unsolicited neighbour advertisement
// for IPv6 (unsolicited-na.ts, sent by Perl, which every Debian host has). Every operation is idempotent: adding an address
// that is there, or deleting one that is not, is success — a retry after an unknown outcome (a
// timeout) must not fail. WHEN to call these is vip-follower.ts's job (decisions in core/decide.ts).
import { execFile } from "node:child_process";
import type { VipAddress } from "./core/address.js";
import { UNSOLICITED_NA_SCRIPT } from "./unsolicited-na.js";
import type { GarpSender } from "./garp-sender.js";

/** Longest one `ip`/`arping`/`perl` (IPv6 announcement) may take. */
export const VIP_COMMAND_TIMEOUT_MS = 5_000;

/** Outcome of one command: exit code (null when killed) and what it printed. */
export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command; rejects only when it cannot be started (ENOENT) or timed out. */
export type CommandRunner = (cmd: string, args: readonly string[]) => Promise<CommandResult>;

/** A failed VIP operation: which command, and what it said. */
export class VipCommandError extends Error {
  override readonly name = "VipCommandError";
  readonly code = "vip_command_failed";
  constructor(readonly argv: readonly string[], detail: string, options?: { cause?: unknown }) {
    super(`VIP command failed: ${argv.join(" ")}: ${detail.trim() || "no output"}`, options);
  }
}

export const execRunner: CommandRunner = (cmd, args) => new Promise((resolve, reject) => {
  execFile(cmd, args, { timeout: VIP_COMMAND_TIMEOUT_MS, encoding: "utf8" }, (err, stdout, stderr) => {
    if (err === null) return resolve({ code: 0, stdout, stderr });
    const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: unknown };
    if (typeof e.code === "number") return resolve({ code: e.code, stdout, stderr });
    if (e.code === "ENOENT") return reject(new VipCommandError([cmd, ...args], `${cmd} is not installed`, { cause: err }));
    reject(new VipCommandError([cmd, ...args], e.killed ? `no exit within ${VIP_COMMAND_TIMEOUT_MS} ms` : err.message, { cause: err }));
  });
});

/** Which arping is installed: their flags differ (-i vs -I) and so do their exit codes. */
export type ArpingFlavor = "habets" | "iputils";

export interface VipOwnerOptions {
  readonly vip: VipAddress;
  readonly interfaceName: string;
  readonly runner?: CommandRunner;
  /** Detected from `arping --help` on first use when left out. */
  readonly arping?: ArpingFlavor;
  /** A resident gratuitous-ARP helper (garp-sender.ts) tried before arping for IPv4; none: arping only. */
  readonly garp?: GarpSender | null;
}

export class VipOwner {
  private readonly runner: CommandRunner;
  private arping: ArpingFlavor | null;

  constructor(private readonly o: VipOwnerOptions) {
    this.runner = o.runner ?? execRunner;
    this.arping = o.arping ?? null;
  }

  get vip(): VipAddress {
    return this.o.vip;
  }

  /** Adds the address (no duplicate-address detection for IPv6: the address must be usable at once). */
  async acquire(): Promise<void> {
    const args = ["addr", "add", this.o.vip.cidr, "dev", this.o.interfaceName];
    if (this.o.vip.family === 6) args.push("nodad");
    const r = await this.runner("ip", args);
    if (r.code === 0 || /exists|already assigned/i.test(r.stderr)) return;
    throw new VipCommandError(["ip", ...args], r.stderr);
  }

  /** Removes the address; success when it was not there. */
  async release(): Promise<void> {
    const args = ["addr", "del", this.o.vip.cidr, "dev", this.o.interfaceName];
    const r = await this.runner("ip", args);
    if (r.code === 0 || /Cannot assign requested address|not found/i.test(r.stderr)) return;
    throw new VipCommandError(["ip", ...args], r.stderr);
  }

  /** Whether the address is on the interface now (read from the kernel, not remembered). */
  async isHeld(): Promise<boolean> {
    const args = ["-j", `-${this.o.vip.family}`, "addr", "show", "dev", this.o.interfaceName];
    const r = await this.runner("ip", args);
    if (r.code !== 0) throw new VipCommandError(["ip", ...args], r.stderr);
    const links = JSON.parse(r.stdout) as { addr_info?: { local?: string }[] }[];
    return links.some((l) => (l.addr_info ?? []).some((a) => a.local === this.o.vip.address));
  }

  /**
   * Starts the resident gratuitous-ARP helper and finds out which arping is installed, ahead of the
   * first announcement, so that a takeover's first gratuitous ARP costs no command start-up (with
   * the helper) or one command, not two. Never rejects (announce() detects again).
   */
  async prepare(): Promise<void> {
    if (this.o.vip.family === 6) return;
    await this.o.garp?.start();
    if (this.arping !== null) return;
    try {
      this.arping = await this.detectArping();
    } catch {
      // arping missing: announce() reports it when it is needed.
    }
  }

  /** One announcement: a gratuitous ARP (IPv4) or an unsolicited neighbour advertisement (IPv6). */
  async announce(): Promise<void> {
    const { address, family } = this.o.vip;
    const dev = this.o.interfaceName;
    if (family === 6) {
      // One unsolicited NA with the override flag for ADDRESS from DEV (see unsolicited-na.ts).
      const r = await this.runner("perl", ["-e", UNSOLICITED_NA_SCRIPT, address, dev]);
      if (r.code !== 0) throw new VipCommandError(["perl", "-e", "<unsolicited-na.ts>", address, dev], r.stderr);
      return;
    }
    const garp = this.o.garp;
    if (garp?.usable === true) {
      try {
        return await garp.announce();
      } catch {
        // The helper died or its socket failed: arping below still announces.
      }
    }
    const flavor = this.arping ?? (this.arping = await this.detectArping());
    // habets: -U sends a request with source = target = ADDRESS; nobody answers a gratuitous ARP,
    // so exit 1 ("unanswered") is the normal outcome. -w 0: do not wait for replies.
    const args = flavor === "habets"
      ? ["-q", "-U", "-c", "1", "-w", "0", "-i", dev, "-S", address, address]
      : ["-q", "-U", "-c", "1", "-I", dev, address];
    const r = await this.runner("arping", args);
    if (r.code === 0 || (flavor === "habets" && r.code === 1)) return;
    throw new VipCommandError(["arping", ...args], r.stderr);
  }

  private async detectArping(): Promise<ArpingFlavor> {
    const r = await this.runner("arping", ["--help"]);
    return /Habets/i.test(r.stdout + r.stderr) ? "habets" : "iputils";
  }
}
