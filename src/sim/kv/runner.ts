// Runs many KV schedules and sums them up in the simulators' shared loop (../seed-loop.ts), so the
// summary line has the same shape as `npm run sim`'s. Pure: the wall clock is injected.
import { runSeedLoop } from "../seed-loop.js";
import type { RunTotals, SeedLoopOptions } from "../seed-loop.js";
import type { KvMutant } from "./node.js";
import { runKvSchedule } from "./simulation.js";
import type { KvScheduleResult } from "./simulation.js";

/** What to run. */
export interface RunKvSeedsOptions extends SeedLoopOptions<KvScheduleResult> {
  readonly voters: 3 | 5;
  readonly mutant: KvMutant | null;
  /** Receives trace lines of every schedule when set (for one replayed seed). */
  readonly trace?: (line: string) => void;
}

/** Runs the schedules one after the other. */
export function runKvSeeds(options: RunKvSeedsOptions): RunTotals {
  const trace = options.trace === undefined ? {} : { trace: options.trace };
  return runSeedLoop(options, (seed) => runKvSchedule({ seed, voters: options.voters, mutant: options.mutant, ...trace }));
}
