// A Jepsen-style run of the KV store on the host harness: client workers (testdata/jepsen-client.ts)
// in client namespaces run a register workload through the SDK against real agents while a seeded
// nemesis (nemesis-plan.ts, nemesis.ts) partitions, cuts, drops, kills and freezes; then the network
// heals, every agent runs again, a quiet period passes, every key is read, and the histories of all
// workers (one monotonic clock) are checked with the project's linearizability checker.
import { createInterface } from "node:readline";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AGENT_CLIENT_PORT } from "./agents.js";
import type { HostAgents } from "./agents.js";
import type { HostNet, NodeProcess } from "./harness.js";
import { checkHistory, countHistory, parseHistory } from "./jepsen-history.js";
import type { HistoryCounts, HistoryVerdict, RecordedOp } from "./jepsen-history.js";
import { NemesisRunner } from "./nemesis.js";
import type { FreezeWindow } from "./nemesis.js";
import { planNemesis } from "./nemesis-plan.js";
import type { NetworkFault } from "./nemesis-plan.js";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const WORKER = fileURLToPath(new URL("./testdata/jepsen-client.ts", import.meta.url));
/** Longest a worker may take to load (tsx compiles the SDK on a loaded machine). */
const WORKER_READY_DEADLINE_MS = 60_000;
/** Longest the final reads and the worker's exit may take after "final". */
const WORKER_DONE_DEADLINE_MS = 90_000;
/** Longest the cluster may take to agree on a leader after the last fault ended. */
const RECOVERY_DEADLINE_MS = 60_000;
/** Longest the workload may take to get its first answers (before the nemesis starts). */
const WARMUP_DEADLINE_MS = 60_000;

/** A client worker: which client namespace, how many SDK clients, and what endpoints they use. */
export interface WorkerSpec {
  readonly client: string;
  readonly clients: number;
  /** Hosts whose client API the worker's SDK clients use (default: every host). */
  readonly hosts?: readonly string[];
  /** Mutation: serializable reads (the planted stale-read bug). */
  readonly staleReads?: boolean;
  /** Only reads (see testdata/jepsen-client.ts). */
  readonly readOnly?: boolean;
}

export interface JepsenOptions {
  readonly seed: number;
  /** Nemesis time (the plan covers it; the last step finishes). */
  readonly nemesisMs: number;
  readonly workers: readonly WorkerSpec[];
  /** Client namespaces the nemesis may put on a partition's side. */
  readonly movableClients?: readonly string[];
  readonly keys?: readonly string[];
  readonly kinds?: readonly NetworkFault["kind"][];
  /** Workload after the last fault ended and a leader is agreed, before the final reads. */
  readonly quietMs?: number;
  readonly log?: (line: string) => void;
  /** Who a step that prefers the leader strikes instead (default: the Raft leader); null keeps the planned host. */
  readonly primary?: () => Promise<string | null>;
}

export interface JepsenSummary {
  readonly seed: number;
  readonly nemesisMs: number;
  readonly faults: Readonly<Record<string, number>>;
  readonly steps: readonly string[];
  readonly counts: HistoryCounts;
  readonly verdict: HistoryVerdict;
  readonly finalReads: boolean;
  readonly history: readonly RecordedOp[];
  /** Whole-host freezes the nemesis applied (for a single-active judge over the same run). */
  readonly freezes: readonly FreezeWindow[];
}

/** A running worker. */
export class JepsenWorker {
  private constructor(readonly proc: NodeProcess, readonly historyFile: string, private readonly done: Promise<{ finalReads: boolean }>) {}

  /** Starts a worker in `spec.client` and waits until it runs. */
  static async start(net: HostNet, agents: HostAgents, spec: WorkerSpec, o: { firstClientId: number; seed: number; keys: readonly string[]; historyFile: string }): Promise<JepsenWorker> {
    const hosts = spec.hosts ?? net.hosts.map((h) => h.name);
    const config = {
      endpoints: hosts.map((h) => `${net.node(h).address}:${AGENT_CLIENT_PORT}`),
      token: agents.token,
      keys: o.keys,
      clientIds: Array.from({ length: spec.clients }, (_, i) => o.firstClientId + i),
      seed: o.seed,
      historyFile: o.historyFile,
      timeoutMs: 1_500,
      thinkMs: 20,
      staleReads: spec.staleReads === true,
      readOnly: spec.readOnly === true,
    };
    const proc = net.spawn(spec.client, process.execPath, ["--import", "tsx", WORKER, JSON.stringify(config)], { cwd: REPO_ROOT });
    const lines = createInterface({ input: proc.child.stdout! });
    let readyResolve: () => void = () => undefined;
    let doneResolve: (v: { finalReads: boolean }) => void = () => undefined;
    const ready = new Promise<void>((r) => (readyResolve = r));
    const done = new Promise<{ finalReads: boolean }>((r) => (doneResolve = r));
    lines.on("line", (line) => {
      let msg: { event?: string; finalReads?: boolean };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return; // not a protocol line (a warning)
      }
      if (msg.event === "ready") readyResolve();
      if (msg.event === "done") doneResolve({ finalReads: msg.finalReads === true });
    });
    const exitedEarly = proc.exited.then(({ code, signal }) => {
      throw new Error(`Jepsen worker in ${spec.client} exited (code ${code}, signal ${signal}); output: ${proc.output()}`);
    });
    exitedEarly.catch(() => undefined);
    await withDeadline(Promise.race([ready, exitedEarly]), WORKER_READY_DEADLINE_MS, `the Jepsen worker in ${spec.client} to start (output: ${proc.output()})`);
    return new JepsenWorker(proc, o.historyFile, Promise.race([done, exitedEarly]));
  }

  /** Stops the clients, has the worker read every key, waits for it to exit. */
  async finish(): Promise<{ finalReads: boolean }> {
    this.proc.child.stdin!.write("final\n");
    const result = await withDeadline(this.done, WORKER_DONE_DEADLINE_MS, `the Jepsen worker in ${this.proc.node.name} to finish (output: ${this.proc.output()})`);
    await this.proc.exited;
    return result;
  }

  /** Operations recorded so far. */
  async history(): Promise<RecordedOp[]> {
    return parseHistory(await readFile(this.historyFile, "utf8").catch(() => ""));
  }
}

async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until true or the deadline passes. */
export async function pollUntil(what: string, deadlineMs: number, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`Timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100)); // poll interval, bounded by the deadline above
  }
}

/** Starts one worker per spec, with client ids apart (worker i: 10·i + 1 …). */
export async function startWorkers(net: HostNet, agents: HostAgents, specs: readonly WorkerSpec[], o: { seed: number; keys: readonly string[]; dir: string }): Promise<JepsenWorker[]> {
  const workers: JepsenWorker[] = [];
  for (const [i, spec] of specs.entries()) {
    workers.push(await JepsenWorker.start(net, agents, spec, { firstClientId: 10 * (i + 1) + 1, seed: o.seed, keys: o.keys, historyFile: join(o.dir, `history-${spec.client}-${i}.jsonl`) }));
  }
  return workers;
}

/** Runs the workload under the nemesis, heals, reads every key, checks. Agents must be running. */
export async function runKvJepsen(net: HostNet, agents: HostAgents, options: JepsenOptions): Promise<JepsenSummary> {
  const log = options.log ?? (() => undefined);
  const keys = options.keys ?? ["jepsen/a", "jepsen/b", "jepsen/c", "jepsen/d"];
  const hosts = net.hosts.map((h) => h.name);
  const dir = await mkdtemp(join(tmpdir(), "phalanx-jepsen-"));
  try {
    const workers = await startWorkers(net, agents, options.workers, { seed: options.seed, keys, dir });
    try {
      await pollUntil("the first answered operations", WARMUP_DEADLINE_MS, async () => (await Promise.all(workers.map((w) => w.history()))).flat().filter((o) => o.type === "ok").length >= 5);
      const plan = planNemesis({ seed: options.seed, hosts, movableClients: options.movableClients ?? [], durationMs: options.nemesisMs, ...(options.kinds ? { kinds: options.kinds } : {}) });
      const nemesis = options.primary === undefined ? new NemesisRunner(net, agents, hosts, log) : new NemesisRunner(net, agents, hosts, log, options.primary);
      const started = Date.now();
      await nemesis.run(plan, started + options.nemesisMs);
      const nemesisMs = Date.now() - started;
      await net.heal();
      await agents.waitLeader(hosts, RECOVERY_DEADLINE_MS);
      log(`nemesis over after ${nemesisMs} ms (${JSON.stringify(nemesis.counts())}); quiet period`);
      const before = (await Promise.all(workers.map((w) => w.history()))).flat().filter((o) => o.type === "ok").length;
      await pollUntil("answered operations after the heal", RECOVERY_DEADLINE_MS, async () => (await Promise.all(workers.map((w) => w.history()))).flat().filter((o) => o.type === "ok").length >= before + 10);
      await new Promise((r) => setTimeout(r, options.quietMs ?? 2_000)); // the quiet period is part of the schedule
      const finals = await Promise.all(workers.map((w) => w.finish()));
      const history = (await Promise.all(workers.map((w) => w.history()))).flat();
      const verdict = checkHistory(history);
      return {
        seed: options.seed,
        nemesisMs,
        faults: nemesis.counts(),
        steps: nemesis.applied.map((a) => a.description),
        counts: countHistory(history),
        verdict,
        finalReads: finals.every((f) => f.finalReads),
        history,
        freezes: nemesis.freezes,
      };
    } finally {
      await Promise.all(workers.map((w) => net.kill(w.proc).catch(() => undefined)));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One line per figure, for logs and the soak command. */
export function formatSummary(s: JepsenSummary): string {
  const r = s.verdict.result;
  return [
    `seed ${s.seed}: nemesis ${(s.nemesisMs / 1000).toFixed(1)} s, faults ${JSON.stringify(s.faults)}`,
    `ops: ok ${s.counts.ok}, fail ${s.counts.fail}, unknown ${s.counts.info}; ${JSON.stringify(s.counts.byKind)}`,
    `final reads of every key: ${s.finalReads ? "done" : "NOT done"}`,
    `linearizability: ${r.verdict}${r.key !== null ? ` (key ${r.key})` : ""} over ${s.verdict.checkedOps} operations, ${r.steps} search steps`,
    ...(s.verdict.explanation ? [s.verdict.explanation] : []),
  ].join("\n");
}
