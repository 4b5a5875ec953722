// Command-line pieces the simulator entry points (main.ts, kv/main.ts, failover/main.ts) share, so that
// `npm run sim`, `sim:kv` and `sim:failover` take seeds, nodes and mutants the same way and report a
// violation with the same headline. Pure (no console or process): the entry points print.
import { InvalidArgumentError, Option } from "commander";
import type { Command } from "commander";

/** The summary line printed when a run fails before any schedule could report. */
export const FAILED_RUN_SUMMARY = { schedules: 0, violations: 1, firstFailingSeed: null, eventsPerSecond: 0, schedulesPerSecond: 0 } as const;

/** Parses a seed or count argument. */
export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError("Expected a non-negative integer");
  return n;
}

/** Adds --start, --seed, --nodes (3 or 5, described as `nodesHelp`) and --mutant (one of `mutants`). */
export function addSeedOptions(program: Command, nodesHelp: string, mutants: readonly string[]): Command {
  return program
    .option("--start <s>", "first seed", nonNegativeInt, 1)
    .option("--seed <s>", "run this one seed", nonNegativeInt)
    .addOption(new Option("--nodes <n>", nodesHelp).choices(["3", "5"]).default(3).argParser((v) => Number(v) as 3 | 5))
    .addOption(new Option("--mutant <name>", "switch on a deliberate bug").choices(mutants));
}

/** What a violation headline needs of a violation. */
export interface ViolationLike {
  readonly checker: string;
  readonly timeUs: number;
  readonly message: string;
}

/** The first line printed for a violation; the replay command follows it. */
export function violationHeadline(seed: number, nodes: number, mutant: string | null, v: ViolationLike): string {
  return `VIOLATION seed=${seed} nodes=${nodes}${mutant === null ? "" : ` mutant=${mutant}`} checker=${v.checker} at ${(v.timeUs / 1000).toFixed(3)}ms: ${v.message}`;
}

/** The `--mutant` part of a replay command. */
export function mutantArg(mutant: string | null): string {
  return mutant === null ? "" : ` --mutant ${mutant}`;
}

/** Adds --fail-fast, --verbose and --trace, as the KV and failover simulators take them. */
export function addRunOptions(program: Command): Command {
  return program
    .option("--fail-fast", "stop at the first violation", false)
    .option("--verbose", "print one line per schedule", false)
    .option("--trace", "print a readable trace of the schedule (with --seed)", false);
}

/** The options addSeedOptions() and addRunOptions() parse (with --seeds). */
export interface SeedRunCli<M extends string> {
  seeds: number;
  seed?: number;
  start: number;
  nodes: 3 | 5;
  mutant?: M;
  failFast: boolean;
  verbose: boolean;
  trace: boolean;
}

/** Which seeds to run, on how many nodes, with which mutant: one seed if --seed was given. */
export function seedRunOf<M extends string>(opts: SeedRunCli<M>): { start: number; count: number; voters: 3 | 5; mutant: M | null; stopAtFirstViolation: boolean } {
  return { start: opts.seed ?? opts.start, count: opts.seed !== undefined ? 1 : opts.seeds, voters: opts.nodes, mutant: opts.mutant ?? null, stopAtFirstViolation: opts.failFast };
}
