// Failover's single-active guarantee on a real network (issue 12, item 3): 3 real agents run an
// active-standby service (cold standbys) whose active instance records an action stamped with its
// fencing token every 20 ms (single-active.ts). A seeded nemesis aimed at the active's host —
// partitions, a bridge host, one-way cuts, 20 % loss, kill -9 of its agent (restarted), SIGSTOP of
// the whole host — moves the role around; then heal, and an active must act again. The records are
// judged by the project's acting-log judge: no two tenures overlap, tokens grow. Records of a host
// just thawed from a whole-host freeze that carry a stale token are counted apart (a token check
// refuses them; see single-active.ts). Needs root (skips otherwise, see README.md).
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { HostAgents } from "./agents.js";
import { HostNet } from "./harness.js";
import { pollUntil } from "./jepsen.js";
import { NemesisRunner } from "./nemesis.js";
import { planNemesis } from "./nemesis-plan.js";
import { Prober } from "./probe.js";
import { RECORDING_APP, judgeSingleActive, parseActRecords, recordingService } from "./single-active.js";

const HOSTS = ["h1", "h2", "h3"];
const NEMESIS_MS = 25_000;
const SEED = Number(process.env["PHALANX_JEPSEN_SEED"] ?? 12);
/** Starts, promotions and recovery on a loaded machine. */
const DEADLINE_MS = 60_000;
/** How long after its thaw a frozen host's stale records count as fenced by token (see single-active.ts). */
const RESUME_GRACE_NS = 1_000_000_000n;

test("single active on 3 hosts under partitions, one-way cuts, a bridge host, loss, kill -9 and SIGSTOP of the active's host: no two actives ever acted at once, tokens grow, an active acts after the heal", { timeout: 300_000 }, async (t) => {
  const net = await HostNet.startOrSkip(t, { hosts: 3, clients: 1 });
  if (net === null) return;
  const c1 = await Prober.start(net, "c1");
  const agents = await HostAgents.start(net, c1);
  t.after(() => agents.close());
  const dir = await mkdtemp(join(tmpdir(), "phalanx-single-active-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const app = join(dir, "recording-app.cjs");
  const recordsFile = join(dir, "records.log");
  await writeFile(app, RECORDING_APP);
  await writeFile(recordsFile, "");
  const service = recordingService(app, recordsFile, 2);
  const leader = await agents.waitLeader(HOSTS, DEADLINE_MS);
  const applied = await agents.apply(leader, service);
  assert.ok(typeof applied !== "string" && applied.status === 200, `apply failed: ${JSON.stringify(applied)}`);

  const records = async (): Promise<ReturnType<typeof parseActRecords>> => parseActRecords(await readFile(recordsFile, "utf8"));
  const hostOf = (address: string): string | null => HOSTS.find((h) => net.node(h).address === address) ?? null;
  /** The host of the newest record: the active's, when one acts. */
  const activeHost = async (): Promise<string | null> => {
    const last = (await records()).records.at(-1);
    return last === undefined ? null : hostOf(last.host);
  };
  await pollUntil("a first active acting", DEADLINE_MS, async () => (await records()).records.length > 0);

  const plan = planNemesis({ seed: SEED, hosts: HOSTS, movableClients: [], durationMs: NEMESIS_MS }).map((s) => ({ ...s, preferLeader: true }));
  const nemesis = new NemesisRunner(net, agents, HOSTS, (line) => t.diagnostic(line), activeHost);
  const started = Date.now();
  await nemesis.run(plan, started + NEMESIS_MS);
  await net.heal();
  await agents.waitLeader(HOSTS, DEADLINE_MS);
  const healedNs = process.hrtime.bigint();
  await pollUntil("an active acting after the heal", DEADLINE_MS, async () => (await records()).records.some((r) => r.atNs > healedNs + 200_000_000n));

  const { records: all, bad } = await records();
  // Records name their host by its address; the nemesis by its name.
  const verdict = judgeSingleActive(all, nemesis.freezes.map((f) => ({ ...f, host: net.node(f.host).address })), RESUME_GRACE_NS);
  const tenures = verdict.report.intervals.map((i) => `${i.instance}[${Number((i.endNs! - i.startNs) / 1_000_000n)} ms]`);
  const gaps = verdict.report.intervals.slice(1).map((i, k) => Number((i.startNs - verdict.report.intervals[k]!.endNs!) / 1_000_000n));
  t.diagnostic(`faults ${JSON.stringify(nemesis.counts())}; ${all.length} records; tenures ${tenures.join(" → ")}; handover gaps (ms) ${gaps.join(", ")}; stale records fenced after a thaw: ${verdict.fencedAfterResume.length}`);
  assert.deepEqual(bad, [], "records that are not records");
  assert.ok(verdict.tenures >= 2, `the role never moved (${verdict.tenures} tenure): the nemesis did not exercise failover`);
  assert.deepEqual(verdict.report.overlaps.map(([a, b]) => `${a.instance} and ${b.instance}`), [], "two actives acted at once");
  assert.deepEqual(verdict.report.staleTokens.map((i) => i.instance), [], "an active acted with a token not above its predecessor's");
});
