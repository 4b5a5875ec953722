// `npm run sim:failover`: runs simulated failover schedules and reports violations. The only file of
// src/sim/failover that touches the process, the clock and the console (eslint.config.js lists it
// in PURE_CORE_SHELLS). The last line of output is always one JSON object:
// {"schedules","violations","firstFailingSeed","eventsPerSecond","schedulesPerSecond"}.
import { Command, Option } from "commander";
import { performance } from "node:perf_hooks";
import { FAILED_RUN_SUMMARY, addRunOptions, addSeedOptions, mutantArg, nonNegativeInt, seedRunOf, violationHeadline } from "../cli-options.js";
import type { SeedRunCli } from "../cli-options.js";
import { summarize } from "../runner.js";
import { FAILOVER_MUTANTS } from "./agent.js";
import type { FailoverMutant } from "./agent.js";
import { runFailoverSeeds } from "./runner.js";
import type { FailoverScenario, FailoverScheduleResult } from "./simulation.js";

interface CliOptions extends SeedRunCli<FailoverMutant> {
  scenario: FailoverScenario;
  ttl?: number;
  stopTimeout?: number;
}

function describe(r: FailoverScheduleResult, nodes: number, mutant: FailoverMutant | null): string {
  const stats = `${r.events} events, ${(r.virtualUs / 1000).toFixed(1)}ms virtual, ${r.activations} activations, active again ${r.recoveryMs.toFixed(0)}ms after the heal, hash ${r.hash}`;
  const v = r.violation;
  if (v === null) return `schedule ${r.seed}: ok, ${stats}`;
  return [
    violationHeadline(r.seed, nodes, mutant, v),
    `  ${stats}`,
    `  replay: npm run sim:failover -- --seed ${r.seed} --nodes ${nodes}${mutantArg(mutant)} --trace`,
  ].join("\n");
}

/** "p50 x, p99 y, max z" of a list of milliseconds. */
function quantilesMs(values: readonly number[]): string {
  if (values.length === 0) return "none";
  const sorted = [...values].sort((a, b) => a - b);
  const q = (p: number): string => (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number).toFixed(0);
  return `p50 ${q(0.5)}, p99 ${q(0.99)}, max ${q(1)}`;
}

function main(): void {
  const program = addRunOptions(addSeedOptions(new Command()
    .name("sim:failover")
    .description("Deterministic simulation of active/standby failover (node leases, self-fencing, watchdog, promotion) with faults and checkers")
    .option("--seeds <n>", "number of schedules to run", nonNegativeInt, 100), "machines (each a voter with an agent)", FAILOVER_MUTANTS))
    .addOption(new Option("--scenario <name>", "chaos: random faults; crash-active / freeze-active: one measured takeover per schedule").choices(["chaos", "crash-active", "freeze-active"]).default("chaos"))
    .option("--ttl <ms>", "lease TTL of the takeover scenarios (default 2000)", nonNegativeInt)
    .option("--stop-timeout <ms>", "stop timeout of the takeover scenarios (default 500)", nonNegativeInt);
  program.parse();
  const opts = program.opts<CliOptions>();
  const mutant = opts.mutant ?? null;
  const single = opts.seed !== undefined;
  let activations = 0;
  let worstRecoveryMs = 0;
  let closestHandoverMs = Infinity;
  let closestLeaseMarginMs = Infinity;
  const takeoversMs: number[] = [];
  const leaderTakeoversMs: number[] = [];
  const tally = { agentFences: 0, watchdogKills: 0, demotions: 0 };
  const totals = runFailoverSeeds({
    ...seedRunOf(opts),
    scenario: opts.scenario,
    ...(opts.ttl === undefined ? {} : { leaseTtlMs: opts.ttl }),
    ...(opts.stopTimeout === undefined ? {} : { stopTimeoutMs: opts.stopTimeout }),
    ...(single && opts.trace ? { trace: (line: string) => console.log(line) } : {}),
    clockMs: () => performance.now(),
    onResult: (r) => {
      activations += r.activations;
      worstRecoveryMs = Math.max(worstRecoveryMs, r.recoveryMs);
      closestHandoverMs = Math.min(closestHandoverMs, r.closestHandoverMs);
      closestLeaseMarginMs = Math.min(closestLeaseMarginMs, r.closestLeaseMarginMs);
      takeoversMs.push(...r.takeoversMs);
      leaderTakeoversMs.push(...r.leaderTakeoversMs);
      tally.agentFences += r.agentFences;
      tally.watchdogKills += r.watchdogKills;
      tally.demotions += r.demotions;
      if (r.violation !== null || single || opts.verbose) console.log(describe(r, opts.nodes, mutant));
    },
  });
  console.log(`closest an active came to its lease's expiry on the leader's clock when it stopped acting: ${closestLeaseMarginMs.toFixed(3)}ms`);
  if (opts.scenario !== "chaos" && takeoversMs.length > 0) {
    console.log(`${opts.scenario}: takeover (fault to the next active acting; no health check or hooks) in virtual ms: ${quantilesMs(takeoversMs)}`);
    console.log(`  of which the struck machine was also the Raft leader (${leaderTakeoversMs.length}): ${quantilesMs(leaderTakeoversMs)}`);
  }
  console.log(`demotions: ${tally.demotions} (${tally.agentFences} by the agent's fencing deadline); watchdog kills: ${tally.watchdogKills}`);
  console.log(`activations: ${activations}; closest handover (one active stopped, the next started): ${closestHandoverMs.toFixed(3)}ms; slowest return of an active after the heal: ${worstRecoveryMs.toFixed(0)}ms (virtual)`);
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
