// `npm run sim`: runs simulated schedules and reports violations. The only file of src/sim that
// touches the process, the clock and the console. The last line of output is always one JSON
// object: {"schedules","violations","firstFailingSeed","eventsPerSecond","schedulesPerSecond"}.
import { Command } from "commander";
import { availableParallelism } from "node:os";
import { performance } from "node:perf_hooks";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { FAILED_RUN_SUMMARY, addSeedOptions, mutantArg, nonNegativeInt, violationHeadline } from "./cli-options.js";
import { SIM_MUTANTS } from "./params.js";
import type { SimMutant } from "./params.js";
import { mergeTotals, runSeeds, summarize } from "./runner.js";
import type { RunTotals } from "./runner.js";
import { runSchedule } from "./simulation.js";
import type { ScheduleResult } from "./simulation.js";

interface CliOptions {
  seeds?: number;
  seed?: number;
  start: number;
  nodes: 3 | 5;
  mutant?: SimMutant;
  trace: boolean;
  failFast: boolean;
  workers: number;
}

interface Shard {
  readonly start: number;
  readonly count: number;
  readonly stride: number;
  readonly nodes: 3 | 5;
  readonly mutant: SimMutant | null;
  readonly failFast: boolean;
}

/** Environment variable that makes this file run one shard for a parent process. */
const SHARD_ENV = "PHALANX_SIM_SHARD";

type WorkerMessage = { readonly kind: "violation"; readonly text: string } | { readonly kind: "done"; readonly totals: RunTotals };

function describeViolation(r: ScheduleResult, nodes: number, mutant: SimMutant | null): string {
  const v = r.violation;
  if (v === null) return "";
  return [
    violationHeadline(r.seed, nodes, mutant, v),
    `  replay: npm run sim -- --seed ${r.seed} --nodes ${nodes}${mutantArg(mutant)} --trace`,
  ].join("\n");
}

function runShard(shard: Shard, report: (text: string) => void): RunTotals {
  return runSeeds({
    start: shard.start,
    count: shard.count,
    stride: shard.stride,
    voters: shard.nodes,
    mutant: shard.mutant,
    stopAtFirstViolation: shard.failFast,
    clockMs: () => performance.now(),
    onResult: (r) => {
      if (r.violation !== null) report(describeViolation(r, shard.nodes, shard.mutant));
      if (r.linearizabilityUndecided) report(`note: the linearizability search hit its bound on seed ${r.seed}`);
    },
  });
}

// Worker processes (not threads: the TypeScript loader is per process) each run a strided shard.
function runInWorkers(shards: readonly Shard[]): Promise<RunTotals[]> {
  return Promise.all(shards.map((shard) => new Promise<RunTotals>((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], {
      env: { ...process.env, [SHARD_ENV]: JSON.stringify(shard) },
      execArgv: ["--import", "tsx"],
    });
    let totals: RunTotals | null = null;
    child.on("message", (m: WorkerMessage) => {
      if (m.kind === "violation") console.log(m.text);
      else totals = m.totals;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (totals !== null && code === 0) resolve(totals);
      else reject(new Error(`Simulation worker for seeds from ${shard.start} exited with code ${String(code)}`));
    });
  })));
}

async function main(): Promise<void> {
  const program = addSeedOptions(new Command()
    .name("sim")
    .description("Deterministic simulation of a Phalanx Raft cluster with faults and checkers")
    .option("--seeds <n>", "number of schedules to run", nonNegativeInt), "voters at start", SIM_MUTANTS)
    .option("--trace", "print a readable trace of the schedule (with --seed)", false)
    .option("--fail-fast", "stop at the first violation", false)
    .option("--workers <n>", "worker processes to spread the seeds over", nonNegativeInt, 1);
  program.parse();
  const opts = program.opts<CliOptions>();
  const mutant = opts.mutant ?? null;

  if (opts.seed !== undefined) {
    const trace = opts.trace ? (line: string): void => console.log(line) : undefined;
    const began = performance.now();
    const r = runSchedule({ seed: opts.seed, voters: opts.nodes, mutant, trace });
    const elapsedMs = performance.now() - began;
    if (r.violation !== null) console.log(describeViolation(r, opts.nodes, mutant));
    console.log(`schedule ${r.seed}: ${r.events} events, ${(r.virtualUs / 1000).toFixed(1)}ms virtual, ${r.operations} operations (${r.acknowledged} acknowledged, ${r.timedOut} timed out), hash ${r.hash}`);
    const totals: RunTotals = {
      schedules: 1, violations: r.violation === null ? 0 : 1, firstFailingSeed: r.violation === null ? null : r.seed,
      events: r.events, elapsedMs, undecided: r.linearizabilityUndecided ? 1 : 0,
    };
    if (r.linearizabilityUndecided) console.log("note: the linearizability search hit its bound");
    console.log(JSON.stringify(summarize(totals)));
    process.exitCode = totals.violations > 0 ? 1 : 0;
    return;
  }

  const count = opts.seeds ?? 100;
  const workers = Math.max(1, Math.min(opts.workers, count, availableParallelism()));
  const shards: Shard[] = Array.from({ length: workers }, (_, w) => ({
    start: opts.start + w,
    count: Math.floor(count / workers) + (w < count % workers ? 1 : 0),
    stride: workers,
    nodes: opts.nodes,
    mutant,
    failFast: opts.failFast,
  }));
  const began = performance.now();
  const parts = workers === 1 ? [runShard(shards[0] as Shard, (text) => console.log(text))] : await runInWorkers(shards);
  const totals = mergeTotals(parts);
  totals.elapsedMs = performance.now() - began;
  if (totals.undecided > 0) console.log(`note: the linearizability search hit its bound on ${totals.undecided} schedule(s)`);
  console.log(JSON.stringify(summarize(totals)));
  process.exitCode = totals.violations > 0 ? 1 : 0;
}

const shardJson = process.env[SHARD_ENV];
if (shardJson === undefined) {
  main().catch((err: unknown) => {
    console.error(err);
    console.log(JSON.stringify(FAILED_RUN_SUMMARY));
    process.exitCode = 1;
  });
} else {
  const send = (m: WorkerMessage): void => {
    process.send?.(m);
  };
  const totals = runShard(JSON.parse(shardJson) as Shard, (text) => send({ kind: "violation", text }));
  send({ kind: "done", totals });
  process.disconnect?.();
}
