// `npm run test:jepsen -- --seconds 300 --seed N [--hosts 3|5]`: the long Jepsen-style soak on the
// host harness (root). One cluster of real agents runs BOTH the KV register workload (clients in c1,
// which reaches every host, and c2, which the nemesis puts on a side of each partition) and an
// active-standby service whose active records token-stamped actions, under one seeded nemesis; at
// the end the KV history is checked for linearizability and the records for single-active. Prints
// the seed, the faults, the operation counts and both verdicts; the last line is one JSON object.
// Exit code 0 when both hold, 1 on a violation, 2 on bad arguments or a machine that cannot run it.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { HostAgents } from "./agents.js";
import { HostNet, hostSupport } from "./harness.js";
import { formatSummary, pollUntil, runKvJepsen } from "./jepsen.js";
import { currentLeader } from "./nemesis.js";
import { Prober } from "./probe.js";
import { RECORDING_APP, judgeSingleActive, parseActRecords, recordingService } from "./single-active.js";

const DEADLINE_MS = 60_000;
const RESUME_GRACE_NS = 1_000_000_000n;

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run test:jepsen -- [--seconds 300] [--seed N] [--hosts 3|5]\n`);
  process.exit(2);
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { seconds: { type: "string", default: "300" }, seed: { type: "string" }, hosts: { type: "string", default: "3" } } });
  const seconds = Number(values.seconds);
  const hosts = Number(values.hosts);
  const seed = values.seed === undefined ? Date.now() % 1_000_000 : Number(values.seed);
  if (!Number.isFinite(seconds) || seconds < 5) usage(`Cannot run for --seconds ${values.seconds}: give at least 5`);
  if (hosts !== 3 && hosts !== 5) usage(`Cannot run --hosts ${values.hosts}: give 3 or 5`);
  if (!Number.isInteger(seed) || seed < 0) usage(`Cannot use --seed ${values.seed}: give a non-negative integer`);
  const support = await hostSupport();
  if (!support.ok) usage(`Cannot run the Jepsen soak here: ${support.reason}`);
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  log(`jepsen soak: seed ${seed}, ${seconds} s of nemesis, ${hosts} hosts`);

  const net = await HostNet.start({ hosts, clients: 2 });
  const dir = await mkdtemp(join(tmpdir(), "phalanx-jepsen-soak-"));
  let agents: HostAgents | null = null;
  let keep = false;
  try {
    const c1 = await Prober.start(net, "c1");
    agents = await HostAgents.start(net, c1);
    const names = net.hosts.map((h) => h.name);
    const app = join(dir, "recording-app.cjs");
    const recordsFile = join(dir, "records.log");
    await writeFile(app, RECORDING_APP);
    await writeFile(recordsFile, "");
    const service = recordingService(app, recordsFile, hosts - 1);
    const applied = await agents.apply(await agents.waitLeader(names, DEADLINE_MS), service);
    if (typeof applied === "string" || applied.status !== 200) throw new Error(`Cannot apply the recording service: ${JSON.stringify(applied)}`);
    const records = async (): Promise<ReturnType<typeof parseActRecords>> => parseActRecords(await readFile(recordsFile, "utf8"));
    await pollUntil("a first active acting", DEADLINE_MS, async () => (await records()).records.length > 0);

    // Steps aimed at a host strike the Raft leader and the active's host in turn.
    const hostAgents = agents;
    let aimAtActive = false;
    const primary = async (): Promise<string | null> => {
      aimAtActive = !aimAtActive;
      if (!aimAtActive) return currentLeader(hostAgents, names);
      const last = (await records()).records.at(-1);
      return names.find((h) => net.node(h).address === last?.host) ?? null;
    };
    const summary = await runKvJepsen(net, agents, {
      primary,
      seed,
      nemesisMs: seconds * 1000,
      workers: [{ client: "c1", clients: 3 }, { client: "c2", clients: 2 }],
      movableClients: ["c2"],
      log,
    });
    const healedNs = process.hrtime.bigint();
    await pollUntil("an active acting after the heal", DEADLINE_MS, async () => (await records()).records.some((r) => r.atNs > healedNs));
    const { records: acts, bad } = await records();
    // Records name their host by its address; the nemesis by its name.
    const single = judgeSingleActive(acts, summary.freezes.map((f) => ({ ...f, host: net.node(f.host).address })), RESUME_GRACE_NS);
    const singleOk = bad.length === 0 && single.report.overlaps.length === 0 && single.report.staleTokens.length === 0;
    const linearizable = summary.verdict.result.verdict === "ok";

    log(formatSummary(summary));
    log(`single active: ${singleOk ? "ok" : "VIOLATED"} over ${acts.length} records, ${single.tenures} tenures, ${single.fencedAfterResume.length} stale records fenced by token after a thaw`);
    const intervals = single.report.intervals;
    const gapsMs = intervals.slice(1).map((i, k) => Number((i.startNs - intervals[k]!.endNs!) / 1_000_000n));
    log(`  tenures: ${intervals.map((i) => `${i.instance} ${Number((i.endNs! - i.startNs) / 1_000_000n)} ms`).join(" → ")}`);
    log(`  gaps between tenures (ms): ${gapsMs.join(", ")}`);
    for (const [a, b] of single.report.overlaps) log(`  overlap: ${a.instance} [${a.startNs}..${a.endNs}] and ${b.instance} [${b.startNs}..${b.endNs}]`);
    for (const s of single.report.staleTokens) log(`  stale token: ${s.instance}`);
    log(JSON.stringify({
      seed,
      nemesis_s: Math.round(summary.nemesisMs / 100) / 10,
      hosts,
      faults: summary.faults,
      ops_ok: summary.counts.ok,
      ops_fail: summary.counts.fail,
      ops_unknown: summary.counts.info,
      final_reads: summary.finalReads,
      linearizability: summary.verdict.result.verdict,
      active_tenures: single.tenures,
      overlaps: single.report.overlaps.length,
      stale_tokens: single.report.staleTokens.length,
      fenced_after_resume: single.fencedAfterResume.length,
      handover_gap_ms_min: gapsMs.length === 0 ? null : Math.min(...gapsMs),
    }));
    const ok = linearizable && singleOk && summary.finalReads;
    if (!ok) {
      // The evidence: the KV history (one op per line), the action records, the nemesis log.
      keep = true;
      await writeFile(join(dir, "history.jsonl"), summary.history.map((op) => JSON.stringify(op)).join("\n") + "\n");
      await writeFile(join(dir, "nemesis.txt"), [...summary.steps, ...summary.freezes.map((f) => `freeze ${f.host} from ${f.fromNs} thaw ${f.thawNs} running ${f.toNs}`)].join("\n") + "\n");
      log(`evidence kept in ${dir} (history.jsonl, records.log, nemesis.txt)`);
    }
    return ok ? 0 : 1;
  } finally {
    await agents?.close().catch(() => undefined);
    await net.close();
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`jepsen soak failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
