// Runs many KV schedules and sums them up in the simulator's RunTotals (../runner.ts), so the
// summary line has the same shape as `npm run sim`'s. Pure: the wall clock is injected.
import type { RunTotals } from "../runner.js";
import type { KvMutant } from "./node.js";
import { runKvSchedule } from "./simulation.js";
import type { KvScheduleResult } from "./simulation.js";

/** What to run. */
export interface RunKvSeedsOptions {
  readonly start: number;
  readonly count: number;
  readonly voters: 3 | 5;
  readonly mutant: KvMutant | null;
  /** Stop at the first schedule with a violation. */
  readonly stopAtFirstViolation?: boolean;
  /** Wall clock in milliseconds, for the rates. */
  readonly clockMs: () => number;
  /** Receives trace lines of every schedule when set (for one replayed seed). */
  readonly trace?: (line: string) => void;
  /** Called after every schedule. */
  readonly onResult?: (result: KvScheduleResult) => void;
}

/** Runs the schedules one after the other. */
export function runKvSeeds(options: RunKvSeedsOptions): RunTotals {
  const totals: RunTotals = { schedules: 0, violations: 0, firstFailingSeed: null, events: 0, elapsedMs: 0, undecided: 0 };
  const began = options.clockMs();
  for (let i = 0; i < options.count; i++) {
    const seed = options.start + i;
    const result = runKvSchedule({ seed, voters: options.voters, mutant: options.mutant, ...(options.trace === undefined ? {} : { trace: options.trace }) });
    totals.schedules++;
    totals.events += result.events;
    if (result.linearizabilityUndecided) totals.undecided++;
    options.onResult?.(result);
    if (result.violation !== null) {
      totals.violations++;
      totals.firstFailingSeed ??= seed;
      if (options.stopAtFirstViolation === true) break;
    }
  }
  totals.elapsedMs = options.clockMs() - began;
  return totals;
}
