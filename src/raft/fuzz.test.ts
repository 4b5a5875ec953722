// Randomized schedules over the in-memory harness, checking Raft's safety properties (§5.4,
// Figure 3): election safety, state machine safety (the same entry applied at each index),
// leader completeness, and commit monotonicity. The full simulator (src/sim) goes much further;
// this is the core's own quick self-check.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TestNetwork, seededRandomInt } from "./testing.js";
import { nodeId, type Entry, type NodeId } from "./types.js";

/** Schedules per test run: a quick self-check; src/sim runs thousands. */
const FUZZ_SEEDS = 20;

interface Outcome {
  readonly violations: string[];
  readonly commits: number;
  readonly stats: { maxTerm: number; snapshots: number; confEntries: number };
}

function entryKey(e: Entry): string {
  return `${e.term}/${e.type}/${Array.from(e.data).join(",")}`;
}

/** Runs one randomized schedule and returns the safety violations seen. */
export function runSchedule(seed: number, steps: number, trace?: (line: string) => void): Outcome {
  const rnd = seededRandomInt(seed);
  const chance = (p: number): boolean => rnd(1000) < p * 1000;
  const net = new TestNetwork({
    voters: [1, 2, 3], seed,
    config: { maxEntriesPerAppend: 1 + rnd(4), maxInflightAppends: 1 + rnd(4), preVote: chance(0.7), checkQuorum: chance(0.7) },
  });
  net.recordDelivered = false;
  for (const extra of [4, 5]) net.addNode(nodeId(extra), null);
  const all = [1, 2, 3, 4, 5];
  const violations: string[] = [];
  const leaderOfTerm = new Map<number, NodeId>();
  const committedAt = new Map<number, string>();
  const lastCommit = new Map<NodeId, number>();
  let proposals = 0;

  const check = (): void => {
    for (const [id, raft] of net.nodes) {
      const st = raft.status();
      if (st.role === "leader") {
        const prev = leaderOfTerm.get(st.term);
        if (prev !== undefined && prev !== id) violations.push(`two leaders in term ${st.term}: ${prev} and ${id}`);
        if (prev !== undefined) continue;
        leaderOfTerm.set(st.term, id);
        // Leader completeness (§5.4): a leader elected after an entry committed holds it.
        for (const [index, key] of committedAt) {
          if (index < st.firstIndex) continue;
          const e = raft.entries(index, index)[0];
          if (e === undefined || entryKey(e) !== key) violations.push(`leader ${id} of term ${st.term} misses committed entry ${index}`);
        }
      }
      if (st.commit < (lastCommit.get(id) ?? 0)) violations.push(`commit of ${id} went back`);
      lastCommit.set(id, st.commit);
      for (const [index, e] of net.applied.get(id) ?? []) {
        const key = entryKey(e);
        const seen = committedAt.get(index);
        if (seen === undefined) committedAt.set(index, key);
        else if (seen !== key) violations.push(`node ${id} applied ${key} at ${index}, another node applied ${seen}`);
      }
    }
  };

  for (let step = 0; step < steps && violations.length === 0; step++) {
    const running = all.filter((id) => net.nodes.has(nodeId(id)));
    const pick = running[rnd(running.length)] as number;
    const roll = rnd(100);
    if (roll < 35) {
      for (const id of running) net.node(id).tick();
    } else if (roll < 65) {
      net.deliverSome(
        () => (chance(0.1) ? "drop" : chance(0.15) ? "keep" : chance(0.03) ? "duplicate" : "deliver"),
        (ms) => (chance(0.3) ? [...ms].sort(() => rnd(3) - 1) : ms),
      );
    } else if (roll < 77) {
      const leader = net.leader();
      if (leader !== null) {
        const r = net.node(leader).propose(new Uint8Array([proposals & 255, proposals >> 8]));
        if (r.ok) proposals++;
      }
    } else if (roll < 79) {
      const leader = net.leader();
      if (leader !== null) {
        const target = nodeId(all[rnd(all.length)] as number);
        const type = (["addVoter", "addLearner", "removeNode"] as const)[rnd(3)] ?? "addVoter";
        net.node(leader).proposeConfChange({ type, nodeId: target });
      }
    } else if (roll < 81) {
      const leader = net.leader();
      if (leader !== null) net.node(leader).transferLeadership(nodeId(all[rnd(all.length)] as number));
    } else if (roll < 84) {
      net.node(pick).readIndex(`r${step}`);
    } else if (roll < 87) {
      const st = net.node(pick).status();
      if (st.applied >= st.firstIndex) net.compact(pick, st.applied - rnd(2));
    } else if (roll < 89) {
      if (running.length > 3) net.crash(pick);
    } else if (roll < 92) {
      const down = all.filter((id) => !net.nodes.has(nodeId(id)));
      const id = down[rnd(Math.max(down.length, 1))];
      if (id !== undefined) net.restart(id);
    } else if (roll < 94) {
      net.isolate(pick);
    } else if (roll < 96) {
      net.cut(pick, all[rnd(all.length)] as number);
    } else {
      net.heal();
    }
    net.flush();
    if (trace !== undefined) {
      trace(`step ${step} roll ${roll} pick ${pick}`);
      for (const [id, r] of net.nodes) {
        const st = r.status();
        trace(`  ${id} ${st.role} t${st.term} v${st.vote} c${st.commit} a${st.applied} last${st.lastIndex} first${st.firstIndex} conf${JSON.stringify(st.confState)} log${r.entries(st.firstIndex, st.lastIndex).map((e) => e.term + (e.type === "config" ? "c" : "")).join(",")}`);
      }
    }
    check();
  }
  if (violations.length === 0) checkLiveness(net, all, violations, trace);
  const stats = {
    maxTerm: Math.max(...[...net.nodes.values()].map((r) => r.status().term)),
    snapshots: net.snapshotsApplied.length,
    confEntries: [...committedAt.values()].filter((k) => k.includes("/config/")).length,
  };
  return { violations, commits: committedAt.size, stats };
}

/** After faults heal, a leader emerges within bounded ticks and a proposal is applied by every voter. */
function checkLiveness(net: TestNetwork, all: number[], violations: string[], trace?: (line: string) => void): void {
  net.heal();
  net.dropInFlight();
  for (const id of all) if (!net.nodes.has(nodeId(id))) net.restart(id);
  // A proposal may be lost when leadership changes right after it; a few attempts must succeed.
  for (let attempt = 0; attempt < 5; attempt++) {
    let leader: NodeId | null = null;
    for (let i = 0; i < 200 && leader === null; i++) {
      net.tickAll();
      if (net.leaders().length === 1) leader = net.leader();
    }
    if (leader === null) continue;
    const result = net.node(leader).propose(new TextEncoder().encode(`liveness${attempt}`));
    net.tickAll(30);
    if (!result.ok) continue;
    const voters = net.node(net.leader() ?? leader).status().confState.voters;
    const done = voters.every((id) => {
      const e = net.applied.get(id)?.get(result.index);
      return e !== undefined && e.term === result.term;
    });
    if (done) return;
  }
  if (trace !== undefined) {
    for (const [id, r] of net.nodes) {
      const st = r.status();
      trace(`  ${id} ${st.role} t${st.term} v${st.vote} lead${st.leader} c${st.commit} a${st.applied} last${st.lastIndex} first${st.firstIndex} conf${JSON.stringify(st.confState)} ${JSON.stringify([...(st.progress ?? new Map())])}`);
    }
  }
  violations.push("no proposal was applied by every voter within 5 attempts after healing");
}

test("randomized schedules keep election safety, state machine safety and leader completeness (§5.4)", () => {
  let commits = 0;
  for (let seed = 1; seed <= FUZZ_SEEDS; seed++) {
    const { violations, commits: c } = runSchedule(seed, 400);
    assert.deepEqual(violations, [], `seed ${seed}`);
    commits += c;
  }
  // The schedules must make progress, or they prove nothing.
  assert.ok(commits > FUZZ_SEEDS * 5, `only ${commits} entries committed`);
});
