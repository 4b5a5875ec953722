// Drives one testdata/vip-host.ts process per host namespace (a VipFollower with its VipOwner and
// watchdog, plus an HTTP server answering the host's name) over its stdin, for the VIP mechanism
// tests (vip.test.ts for IPv4, vip-ipv6.test.ts for IPv6).
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { HostNet, NodeProcess } from "./harness.js";
import type { Prober } from "./probe.js";
import { until } from "./vip-hosts.js";

const VIP_HOST = fileURLToPath(new URL("./testdata/vip-host.ts", import.meta.url));
const ANSWER_DEADLINE_MS = 10_000;
/** Far beyond what a test step takes: the holder must not reach its fencing point by accident. */
const LONG_FENCE_MS = 600_000;

/** One vip-host.ts process, asked over stdin. */
export class VipHost {
  private nextId = 1;
  private readonly pending = new Map<number, (m: { ok: boolean; value?: unknown; error?: string }) => void>();
  private constructor(readonly name: string, readonly proc: NodeProcess) {}

  static async start(net: HostNet, name: string, vipCidr: string): Promise<VipHost> {
    const proc = net.spawn(name, process.execPath, ["--import", "tsx", VIP_HOST, name, vipCidr]);
    const host = new VipHost(name, proc);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`vip-host on ${name} not ready within 30 s: ${proc.output()}`)), 30_000);
      createInterface({ input: proc.child.stdout! }).on("line", (line) => {
        const m = JSON.parse(line) as { event?: string; id?: number; ok: boolean };
        if (m.event === "ready") {
          clearTimeout(timer);
          resolve();
        } else if (m.id !== undefined) host.pending.get(m.id)?.(m);
      });
      void proc.exited.then(() => reject(new Error(`vip-host on ${name} exited: ${proc.output()}`)));
    });
    return host;
  }

  async ask(cmd: string, extra: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    const answer = new Promise<{ ok: boolean; value?: unknown; error?: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`vip-host ${this.name}: no answer to ${cmd} within ${ANSWER_DEADLINE_MS} ms: ${this.proc.output()}`)), ANSWER_DEADLINE_MS);
      this.pending.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
    this.proc.child.stdin!.write(`${JSON.stringify({ id, cmd, ...extra })}\n`);
    const m = await answer;
    if (!m.ok) throw new Error(`vip-host ${this.name}: ${cmd} failed: ${m.error}`);
    return m.value;
  }

  /** The store's view: this host holds the role until `fenceInMs` from now (null: no lease). */
  role(holder: boolean, fenceInMs: number | null = LONG_FENCE_MS): Promise<unknown> {
    return this.ask("role", { holder, fenceInMs });
  }

  async held(): Promise<boolean> {
    return (await this.ask("held")) === true;
  }
}

/** The client is served through the VIP by `host` (retried: a neighbour entry may be resolving). */
export async function servedBy(client: Prober, url: string, host: string, deadlineMs: number): Promise<void> {
  let last = "";
  await until(`c1 served by ${host} through ${url}`, deadlineMs, async () => {
    const r = await client.http(url, 1_000);
    last = r.ok ? `served by ${r.body}` : r.error;
    return r.ok && r.body === host ? true : undefined;
  }, () => last);
}

/**
 * Moves the VIP the way an owner must (release on `from` and see it gone, then acquire on `to`),
 * then waits for c1's neighbour entry to point at `to` — with no request from c1 in between, only
 * `to`'s announcement (gratuitous ARP / unsolicited NA) can change it; the entry was used moments
 * ago, so without one it would keep `from`'s MAC for its reachable time (15–45 s) — and for c1 to
 * be served by `to` through `url`.
 */
export async function moveAndFollow(net: HostNet, client: Prober, from: VipHost, to: VipHost, vip: string, url: string): Promise<void> {
  await from.role(false);
  await until(`${from.name} to release ${vip}`, 5_000, async () => ((await from.held()) ? undefined : true));
  await to.role(true);
  const toMac = await net.macAddress(to.name);
  await until(`c1's neighbour entry for ${vip} to point at ${to.name} (${toMac})`, 5_000, async () => ((await net.neighbour("c1", vip))?.mac === toMac ? true : undefined));
  await servedBy(client, url, to.name, 5_000);
}
