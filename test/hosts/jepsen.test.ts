// The KV store's linearizability on a real network (issue 12, item 3): 3 real agents on hosts in
// network namespaces; SDK clients in two client namespaces (c1 reaches every host, c2 joins a side
// of each partition) run reads, writes and compare-and-swaps on a few keys while a seeded nemesis
// partitions (majority/minority, a bridge host), cuts one way, drops 20 % of frames, kills agents
// with kill -9 and restarts them, and freezes whole hosts; then heal, a quiet period, a read of every
// key. The history (unknown outcomes open-ended) must be linearizable. `npm run test:jepsen` runs
// the same for longer (jepsen-main.ts). Needs root (skips otherwise, see README.md).
import assert from "node:assert/strict";
import { test } from "node:test";
import { HostAgents } from "./agents.js";
import { HostNet } from "./harness.js";
import { formatSummary, runKvJepsen } from "./jepsen.js";
import { Prober } from "./probe.js";

/** Nemesis time of the default run (npm test); the soak gives more. */
const NEMESIS_MS = 30_000;
const SEED = Number(process.env["PHALANX_JEPSEN_SEED"] ?? 12);

test("Jepsen-style KV run on 3 hosts: reads, writes and CAS through partitions, one-way cuts, a bridge host, 20 % loss, kill -9 and SIGSTOP of hosts stay linearizable", { timeout: 300_000 }, async (t) => {
  const net = await HostNet.startOrSkip(t, { hosts: 3, clients: 2 });
  if (net === null) return;
  const c1 = await Prober.start(net, "c1");
  const agents = await HostAgents.start(net, c1);
  t.after(() => agents.close());

  const summary = await runKvJepsen(net, agents, {
    seed: SEED,
    nemesisMs: NEMESIS_MS,
    workers: [{ client: "c1", clients: 3 }, { client: "c2", clients: 2 }],
    movableClients: ["c2"],
    log: (line) => t.diagnostic(line),
  });
  for (const line of formatSummary(summary).split("\n")) t.diagnostic(line);

  assert.ok(summary.steps.length >= 3, `the nemesis applied only ${summary.steps.length} faults`);
  assert.ok(summary.counts.ok >= 50, `only ${summary.counts.ok} operations answered`);
  const acked = Object.entries(summary.counts.byKind).filter(([k]) => k === "write ok" || k === "cas ok swapped").reduce((n, [, v]) => n + v, 0);
  assert.ok(acked >= 10, `only ${acked} writes acknowledged: the run did not exercise writes`);
  assert.ok(summary.finalReads, "the final read of every key did not complete after the heal");
  assert.equal(summary.verdict.result.verdict, "ok", `history not linearizable (seed ${SEED}):\n${formatSummary(summary)}`);
});
