// Runs many failover schedules in the simulators' shared loop (../seed-loop.ts), so the summary line
// has the same shape as `npm run sim`'s. Pure: the wall clock is injected.
import { runSeedLoop } from "../seed-loop.js";
import type { RunTotals, SeedLoopOptions } from "../seed-loop.js";
import type { FailoverMutant } from "./agent.js";
import { runFailoverSchedule } from "./simulation.js";
import type { FailoverScenario, FailoverScheduleResult } from "./simulation.js";

/** What to run. */
export interface RunFailoverSeedsOptions extends SeedLoopOptions<FailoverScheduleResult> {
  readonly voters: 3 | 5;
  readonly mutant: FailoverMutant | null;
  readonly trace?: (line: string) => void;
  readonly scenario?: FailoverScenario;
  readonly leaseTtlMs?: number;
  readonly stopTimeoutMs?: number;
}

/** Runs the schedules one after the other. */
export function runFailoverSeeds(options: RunFailoverSeedsOptions): RunTotals {
  const extra = {
    ...(options.trace === undefined ? {} : { trace: options.trace }),
    ...(options.scenario === undefined ? {} : { scenario: options.scenario }),
    ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
    ...(options.stopTimeoutMs === undefined ? {} : { stopTimeoutMs: options.stopTimeoutMs }),
  };
  return runSeedLoop(options, (seed) => runFailoverSchedule({ seed, voters: options.voters, mutant: options.mutant, ...extra }));
}
