// The VIP overlap checker: reads every host's addresses one after another, round after round, and
// reports any instant at which two hosts held the VIP. Reads of different namespaces cannot be
// taken at one instant, so a claim needs proof: host Y holding at read k is an overlap when another
// host X held at its read just before k AND at its read just after k (X held across Y's read —
// barring X dropping and retaking the address between two reads a few ms apart, which no correct
// or incorrect VIP owner here does). A move done right (release, then acquire) can never produce
// that pattern; one done wrong (acquire, then release) does as soon as a round falls between.
import type { HostNet } from "./harness.js";

/** One read of one host: did it hold the VIP, when (ms since the sampler started). */
export interface VipRead {
  readonly host: string;
  readonly held: boolean;
  readonly atMs: number;
}

/** Overlap instants: Y's read at `atMs` while X held both before and after it. */
export interface Overlap {
  readonly atMs: number;
  readonly hosts: readonly [string, string];
}

/** Pure: the overlaps in a sequence of reads (in the order they were taken). */
export function findOverlaps(reads: readonly VipRead[]): Overlap[] {
  const out: Overlap[] = [];
  const indexesOf = new Map<string, number[]>();
  reads.forEach((r, i) => indexesOf.set(r.host, [...(indexesOf.get(r.host) ?? []), i]));
  reads.forEach((y, k) => {
    if (!y.held) return;
    for (const [x, idx] of indexesOf) {
      if (x === y.host) continue;
      const before = idx.filter((i) => i < k).at(-1);
      const after = idx.find((i) => i > k);
      if (before !== undefined && after !== undefined && reads[before]!.held && reads[after]!.held) {
        out.push({ atMs: y.atMs, hosts: [x, y.host] });
      }
    }
  });
  return out;
}

/** Samples every host's addresses at a fixed period until stop(). */
export class OverlapSampler {
  readonly reads: VipRead[] = [];
  private running = true;
  private error: unknown = null;
  private readonly started = performance.now();
  private readonly loop: Promise<void>;

  constructor(private readonly net: HostNet, private readonly hosts: readonly string[], private readonly vip: string, private readonly periodMs = 5) {
    this.loop = this.run();
  }

  /** Completed rounds (every host read once). */
  get rounds(): number {
    return Math.floor(this.reads.length / this.hosts.length);
  }

  /** Waits until `n` more rounds have completed (a proof that the sampler has looked). */
  async waitRounds(n: number, deadlineMs = 10_000): Promise<void> {
    const target = this.rounds + n;
    const end = performance.now() + deadlineMs;
    while (this.rounds < target) {
      if (performance.now() > end) throw new Error(`Overlap sampler did not complete ${n} rounds within ${deadlineMs} ms`);
      await new Promise((r) => setTimeout(r, this.periodMs));
    }
  }

  /** Stops sampling and returns the overlaps seen; throws if a read failed while sampling. */
  async stop(): Promise<Overlap[]> {
    this.running = false;
    await this.loop;
    if (this.error !== null) throw new Error(`Overlap sampler failed after ${this.reads.length} reads: ${String(this.error)}`);
    return findOverlaps(this.reads);
  }

  private async run(): Promise<void> {
    try {
      await this.sample();
    } catch (err) {
      // Kept for stop(): a sampler that stopped looking must not report "no overlap".
      this.error = err;
    }
  }

  private async sample(): Promise<void> {
    while (this.running) {
      for (const host of this.hosts) {
        const t0 = performance.now();
        const held = (await this.net.addresses(host, this.vip.includes(":") ? 6 : 4)).includes(this.vip);
        this.reads.push({ host, held, atMs: Math.round(t0 - this.started) });
        const wait = this.periodMs - (performance.now() - t0);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
}
