// Seeded random command workloads for tests of the store (and for the simulator's KV workloads).
// A small key space so keys are overwritten, deleted and recreated; leases come and go.
import type { Command, TxnOp } from "./command.js";
import { prefixRange } from "./keys.js";

/** A deterministic generator of floats in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const encoder = new TextEncoder();
const DIRS = ["a/", "b/", "c/"];

/** Makes random commands over a small key space; tracks granted lease ids so it can attach keys to them. */
export class CommandGenerator {
  private readonly leases: number[] = [];
  private nextLeaseId = 1;
  private step = 0;

  constructor(private readonly random: () => number) {}

  private int(n: number): number {
    return Math.floor(this.random() * n);
  }
  private pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  private key(): string {
    return `${this.pick(DIRS)}k${this.int(6)}`;
  }
  private value(): Uint8Array {
    return encoder.encode(`v${this.step}-${this.int(1000)}`);
  }
  private lease(): number | undefined {
    return this.leases.length > 0 && this.random() < 0.3 ? this.pick(this.leases) : undefined;
  }

  /** The next command. `revision` (the store's latest) lets it aim compactions below the head. */
  next(revision: number): Command {
    this.step++;
    const r = this.random();
    if (r < 0.4) return { type: "put", key: this.key(), value: this.value(), lease: this.lease(), prevKv: this.random() < 0.5 };
    if (r < 0.5) return { type: "delete", key: this.key(), prevKv: true };
    if (r < 0.53) return { type: "delete", ...prefixRange(this.pick(DIRS)) };
    if (r < 0.7) {
      const key = this.key();
      const puts: TxnOp[] = [
        { type: "put", key, value: this.value() },
        { type: "put", key: `${key}x`, value: this.value(), lease: this.lease() },
      ];
      return {
        type: "txn",
        compares: [{ key, target: "version", op: this.pick(["=", "!=", "<", ">"] as const), value: this.int(3) }],
        success: puts,
        failure: [{ type: "delete", ...prefixRange(key) }, { type: "range", key }],
      };
    }
    if (r < 0.78) {
      const id = this.random() < 0.5 ? this.nextLeaseId++ : 0;
      if (id !== 0) this.leases.push(id);
      return { type: "leaseGrant", id, ttlMs: 1000 };
    }
    if (r < 0.84 && this.leases.length > 0) return { type: "leaseRevoke", id: this.pick(this.leases) };
    if (r < 0.92 && this.leases.length > 0) return { type: "leaseExpire", ids: [this.pick(this.leases), this.pick(this.leases)] };
    if (r < 0.95 && revision > 10) return { type: "compact", revision: revision - this.int(10) };
    return { type: "put", key: this.key(), value: this.value() };
  }
}
