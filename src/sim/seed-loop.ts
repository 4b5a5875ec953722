// The loop both simulators' runners share: run a range of seeds one after the other, sum the
// results up, and stop early if asked. Pure: the wall clock for the rates is injected.

/** Totals of a run, from which the summary is made (also merged across workers). */
export interface RunTotals {
  schedules: number;
  violations: number;
  firstFailingSeed: number | null;
  events: number;
  elapsedMs: number;
  undecided: number;
}

/** What the loop needs of one schedule's result. */
export interface SeedOutcome {
  readonly events: number;
  readonly violation: object | null;
  /** True when the linearizability search hit its bound ("unknown" verdict). */
  readonly linearizabilityUndecided: boolean;
}

/** Which seeds to run and how. */
export interface SeedLoopOptions<R extends SeedOutcome> {
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
  readonly onResult?: (result: R) => void;
}

/** Totals before any schedule ran. */
export function emptyTotals(): RunTotals {
  return { schedules: 0, violations: 0, firstFailingSeed: null, events: 0, elapsedMs: 0, undecided: 0 };
}

/** Runs `runOne` for each seed of `options`, one after the other, and sums the results up. */
export function runSeedLoop<R extends SeedOutcome>(options: SeedLoopOptions<R>, runOne: (seed: number) => R): RunTotals {
  const stride = options.stride ?? 1;
  const totals = emptyTotals();
  const began = options.clockMs();
  for (let i = 0; i < options.count; i++) {
    const seed = options.start + i * stride;
    const result = runOne(seed);
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
