// Runs many schedules and sums them up. Pure: the wall clock for the rates is injected.
import type { SimOptions } from "./params.js";
import { runSchedule } from "./simulation.js";
import type { ScheduleResult } from "./simulation.js";

/** What to run. */
export interface RunSeedsOptions extends SimOptions {
  /** First seed. */
  readonly start: number;
  readonly count: number;
  /** Run only every `stride`-th seed from `start` (to split a range over workers). */
  readonly stride?: number;
  /** Stop at the first schedule with a violation. */
  readonly stopAtFirstViolation?: boolean;
  /** Wall clock in milliseconds, for the rates. */
  readonly clockMs: () => number;
  /** Called after every schedule (e.g. to print a violation as soon as it is found). */
  readonly onResult?: (result: ScheduleResult) => void;
}

/** The summary that `npm run sim` prints as its last line. */
export interface RunSummary {
  readonly schedules: number;
  readonly violations: number;
  readonly firstFailingSeed: number | null;
  readonly eventsPerSecond: number;
  readonly schedulesPerSecond: number;
}

/** Totals of a run, from which the summary is made (also merged across workers). */
export interface RunTotals {
  schedules: number;
  violations: number;
  firstFailingSeed: number | null;
  events: number;
  elapsedMs: number;
  undecided: number;
}

/** Runs the schedules of `options` one after the other. */
export function runSeeds(options: RunSeedsOptions): RunTotals {
  const stride = options.stride ?? 1;
  const totals: RunTotals = { schedules: 0, violations: 0, firstFailingSeed: null, events: 0, elapsedMs: 0, undecided: 0 };
  const began = options.clockMs();
  for (let i = 0; i < options.count; i++) {
    const seed = options.start + i * stride;
    const result = runSchedule({ seed, voters: options.voters, mutant: options.mutant });
    totals.schedules++;
    totals.events += result.events;
    if (result.linearizabilityUndecided) totals.undecided++;
    options.onResult?.(result);
    if (result.violation !== null) {
      totals.violations++;
      if (totals.firstFailingSeed === null || seed < totals.firstFailingSeed) totals.firstFailingSeed = seed;
      if (options.stopAtFirstViolation === true) break;
    }
  }
  totals.elapsedMs = options.clockMs() - began;
  return totals;
}

/** Adds up totals of parallel runs (elapsed time is the longest, as they ran side by side). */
export function mergeTotals(parts: readonly RunTotals[]): RunTotals {
  const merged: RunTotals = { schedules: 0, violations: 0, firstFailingSeed: null, events: 0, elapsedMs: 0, undecided: 0 };
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
