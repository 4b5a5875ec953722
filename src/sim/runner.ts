// Runs many schedules and sums them up. Pure: the wall clock for the rates is injected.
import type { SimOptions } from "./params.js";
import { runSchedule } from "./simulation.js";
import type { ScheduleResult } from "./simulation.js";
import { emptyTotals, runSeedLoop } from "./seed-loop.js";
import type { RunTotals, SeedLoopOptions } from "./seed-loop.js";

export type { RunTotals } from "./seed-loop.js";

/** What to run. */
export interface RunSeedsOptions extends SimOptions, SeedLoopOptions<ScheduleResult> {}

/** The summary that `npm run sim` prints as its last line. */
export interface RunSummary {
  readonly schedules: number;
  readonly violations: number;
  readonly firstFailingSeed: number | null;
  readonly eventsPerSecond: number;
  readonly schedulesPerSecond: number;
}

/** Runs the schedules of `options` one after the other. */
export function runSeeds(options: RunSeedsOptions): RunTotals {
  return runSeedLoop(options, (seed) => runSchedule({ seed, voters: options.voters, mutant: options.mutant }));
}

/** Adds up totals of parallel runs (elapsed time is the longest, as they ran side by side). */
export function mergeTotals(parts: readonly RunTotals[]): RunTotals {
  const merged = emptyTotals();
  for (const p of parts) {
    merged.schedules += p.schedules;
    merged.violations += p.violations;
    merged.events += p.events;
    merged.undecided += p.undecided;
    merged.elapsedMs = Math.max(merged.elapsedMs, p.elapsedMs);
    if (p.firstFailingSeed !== null && (merged.firstFailingSeed === null || p.firstFailingSeed < merged.firstFailingSeed)) {
      merged.firstFailingSeed = p.firstFailingSeed;
    }
  }
  return merged;
}

/** The summary line's object. */
export function summarize(totals: RunTotals): RunSummary {
  const seconds = Math.max(totals.elapsedMs, 1) / 1000;
  return {
    schedules: totals.schedules,
    violations: totals.violations,
    firstFailingSeed: totals.firstFailingSeed,
    eventsPerSecond: Math.round(totals.events / seconds),
    schedulesPerSecond: Math.round((totals.schedules / seconds) * 100) / 100,
  };
}
