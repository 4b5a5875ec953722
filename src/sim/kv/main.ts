// `npm run sim:kv`: runs simulated schedules of the KV store and reports violations. The only file
// of src/sim/kv that touches the process, the clock and the console. The last line of output is
// always one JSON object: {"schedules","violations","firstFailingSeed","eventsPerSecond","schedulesPerSecond"}.
// This entry is the shell of the KV simulator, as src/sim/main.ts is of the register one
// (eslint.config.js lists both in PURE_CORE_SHELLS).
import { Command } from "commander";
import { performance } from "node:perf_hooks";
import { FAILED_RUN_SUMMARY, addRunOptions, addSeedOptions, mutantArg, nonNegativeInt, seedRunOf, violationHeadline } from "../cli-options.js";
import type { SeedRunCli } from "../cli-options.js";
import { summarize } from "../runner.js";
import { KV_MUTANTS } from "./node.js";
import type { KvMutant } from "./node.js";
import { runKvSeeds } from "./runner.js";
import type { KvScheduleResult } from "./simulation.js";

type CliOptions = SeedRunCli<KvMutant>;

function describe(r: KvScheduleResult, nodes: number, mutant: KvMutant | null): string {
  const stats = `${r.events} events, ${(r.virtualUs / 1000).toFixed(1)}ms virtual, ${r.operations} register ops, ${r.acknowledged} acknowledged, ${r.timedOut} timed out, ${r.leasesExpired} leases expired, ${r.watchEvents} watch events, hash ${r.hash}`;
  const v = r.violation;
  if (v === null) return `schedule ${r.seed}: ok, ${stats}`;
  return [
    violationHeadline(r.seed, nodes, mutant, v),
    `  ${stats}`,
    `  replay: npm run sim:kv -- --seed ${r.seed} --nodes ${nodes}${mutantArg(mutant)}`,
  ].join("\n");
}

function main(): void {
  const program = addRunOptions(addSeedOptions(new Command()
    .name("sim:kv")
    .description("Deterministic simulation of the Phalanx KV store (leases, watches, txns) with faults and checkers")
    .option("--seeds <n>", "number of schedules to run", nonNegativeInt, 100), "voters", KV_MUTANTS));
  program.parse();
  const opts = program.opts<CliOptions>();
  const mutant = opts.mutant ?? null;
  const single = opts.seed !== undefined;
  const totals = runKvSeeds({
    ...seedRunOf(opts),
    ...(single && opts.trace ? { trace: (line: string) => console.log(line) } : {}),
    clockMs: () => performance.now(),
    onResult: (r) => {
      if (r.violation !== null || single || opts.verbose) console.log(describe(r, opts.nodes, mutant));
    },
  });
  if (totals.undecided > 0) console.log(`note: the linearizability search hit its bound on ${totals.undecided} schedule(s)`);
  console.log(JSON.stringify(summarize(totals)));
  process.exitCode = totals.violations > 0 ? 1 : 0;
}

try {
  main();
} catch (err: unknown) {
  console.error(err);
  console.log(JSON.stringify(FAILED_RUN_SUMMARY));
  process.exitCode = 1;
}
