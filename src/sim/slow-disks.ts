// Disk latency of the simulated nodes, and the "slow disk" fault both nemeses inject: a node's
// fsyncs take tens of milliseconds until a deadline, then return to the schedule's normal range.
import type { NodeId } from "../raft/raft.js";
import type { Rng } from "./rng.js";

/** Fsync latency of a node whose disk is slowed, in microseconds. */
const SLOW_DISK_MIN_US = 5_000;
const SLOW_DISK_MAX_US = 40_000;

/** Which nodes have a slow disk, and until when. */
export class SlowDisks {
  private readonly untilUs = new Map<NodeId, number>();

  /** Makes `node`'s disk slow until virtual time `untilUs`. */
  slow(node: NodeId, untilUs: number): void {
    this.untilUs.set(node, untilUs);
  }

  /** Makes every disk normal again (the heal). */
  clear(): void {
    this.untilUs.clear();
  }

  /** Draws the latency of one fsync on `node` at `nowUs`: slow while its deadline is ahead, else in [minUs, maxUs]. */
  latencyUs(node: NodeId, nowUs: number, rng: Rng, minUs: number, maxUs: number): number {
    const slowUntil = this.untilUs.get(node);
    if (slowUntil !== undefined && slowUntil > nowUs) return rng.range(SLOW_DISK_MIN_US, SLOW_DISK_MAX_US);
    return rng.range(minUs, maxUs);
  }
}
