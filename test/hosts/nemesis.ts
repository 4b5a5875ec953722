// Carries out a nemesis plan (nemesis-plan.ts) on a host harness with real agents: applies each
// step's fault, holds it, ends it (heal, SIGCONT, restart of a killed agent), waits the quiet gap.
// Records what it did with monotonic times — the freeze windows matter to the single-active judge,
// since a whole frozen host resumes with stale timers.
import type { HostAgents } from "./agents.js";
import type { HostNet } from "./harness.js";
import { describeStep, withPrimary } from "./nemesis-plan.js";
import type { NemesisStep } from "./nemesis-plan.js";

/** How long the leader lookup before a step may take per host. */
const LEADER_LOOKUP_TIMEOUT_MS = 500;

/** One step as carried out. */
export interface AppliedStep {
  readonly description: string;
  readonly kind: NemesisStep["fault"]["kind"];
  readonly startNs: bigint;
  readonly endNs: bigint;
}

/**
 * A host whose every process was stopped from `fromNs`; SIGCONT began at `thawNs` and every process
 * ran again by `toNs` (monotonic). The thaw takes a while: processes resume one by one.
 */
export interface FreezeWindow {
  readonly host: string;
  readonly fromNs: bigint;
  readonly thawNs: bigint;
  readonly toNs: bigint;
}

const monotonicNs = (): bigint => process.hrtime.bigint();
// The schedule's holds and gaps ARE the fault pattern (how long a partition lasts), not a wait for
// something to happen, so they are plain timers.
const hold = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The one host of `hosts` that says it is leader now, or null (no answer, no leader, or a split view). */
export async function currentLeader(agents: HostAgents, hosts: readonly string[]): Promise<string | null> {
  const views = await Promise.all(hosts.map((h) => agents.health(h, LEADER_LOOKUP_TIMEOUT_MS).catch(() => null)));
  const leaders = hosts.filter((_, i) => views[i]?.role === "leader");
  return leaders.length === 1 ? leaders[0]! : null;
}

export class NemesisRunner {
  readonly applied: AppliedStep[] = [];
  readonly freezes: FreezeWindow[] = [];

  constructor(
    private readonly net: HostNet,
    private readonly agents: HostAgents,
    private readonly hosts: readonly string[],
    private readonly log: (line: string) => void = () => undefined,
    /** Who a `preferLeader` step strikes (default: the Raft leader); null keeps the planned host. */
    private readonly primary: () => Promise<string | null> = () => this.leader(),
  ) {}

  /** The host that says it is leader now, or null (no answer, no leader, or a split view). */
  leader(): Promise<string | null> {
    return currentLeader(this.agents, this.hosts);
  }

  /** Runs `steps` in order, stopping early (after the current step) once `stopAtMs` (Date.now()) passes. */
  async run(steps: readonly NemesisStep[], stopAtMs = Infinity): Promise<void> {
    for (const planned of steps) {
      if (Date.now() >= stopAtMs) break;
      await this.runStep(planned);
    }
  }

  /** Applies one step, holds it, ends it, and waits its quiet gap. */
  async runStep(planned: NemesisStep): Promise<void> {
    let step = planned;
    if (step.preferLeader) {
      // The leader (or whatever `primary` names) of the moment, so half the faults strike it.
      const target = await this.primary();
      if (target !== null) step = withPrimary(step, target);
    }
    const description = describeStep(step);
    const startNs = monotonicNs();
    this.log(`nemesis: ${description}`);
    const end = await this.apply(step);
    try {
      await hold(step.holdMs);
    } finally {
      await end();
    }
    this.applied.push({ description, kind: step.fault.kind, startNs, endNs: monotonicNs() });
    await hold(step.quietMs);
  }

  /** Applies the step's fault; returns what ends it. */
  private async apply(step: NemesisStep): Promise<() => Promise<void>> {
    const f = step.fault;
    const clientsOn = (side: "minority" | "majority"): string[] => Object.entries(step.clientSides).filter(([, s]) => s === side).map(([c]) => c);
    const others = (hs: readonly string[]): string[] => this.hosts.filter((h) => !hs.includes(h));
    if (step.extraLoss !== null) await this.net.setLoss(step.extraLoss.host, step.extraLoss.percent);
    const healNetwork = async (): Promise<void> => this.net.heal();
    switch (f.kind) {
      case "partition":
        await this.net.partition([...f.minority, ...clientsOn("minority")], [...others(f.minority), ...clientsOn("majority")]);
        return healNetwork;
      case "bridge":
        await this.net.partition([...f.sideA, ...clientsOn("minority")], [...f.sideB, ...clientsOn("majority")]);
        return healNetwork;
      case "one-way":
        await this.net.cutOneWay([f.from], others([f.from]));
        return healNetwork;
      case "loss":
        for (const h of f.hosts) await this.net.setLoss(h, f.percent);
        return healNetwork;
      case "kill": {
        await this.net.kill(this.agents.process(f.host));
        return async () => {
          await healNetwork();
          this.agents.spawn(f.host);
        };
      }
      case "freeze": {
        const fromNs = monotonicNs(); // before the first SIGSTOP: the window may only be wider than the freeze
        await this.net.freezeNode(f.host);
        return async () => {
          await healNetwork();
          const thawNs = monotonicNs();
          await this.net.thawNode(f.host);
          this.freezes.push({ host: f.host, fromNs, thawNs, toNs: monotonicNs() });
        };
      }
    }
  }

  /** How many steps of each kind were carried out. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const a of this.applied) out[a.kind] = (out[a.kind] ?? 0) + 1;
    return out;
  }
}
