// The nemesis schedule of a Jepsen-style run on the host harness, drawn from a seed. Pure: the seed
// fixes which faults come, on which hosts, for how long; the run then applies them to a real network
// (whose timing does not replay). Each step applies one fault (sometimes with random loss on top),
// holds it, ends it (heal, SIGCONT, restart of a killed agent) and leaves a quiet gap.
//
// A step names hosts by role: its first host is the PRIMARY target (the isolated minority host, the
// one killed or frozen, the sender of a one-way cut). With `preferLeader`, the runner swaps that
// host with the Raft leader of the moment (`withPrimary`), so half the faults strike the leader.
import { seededRandom } from "../../src/kv/testkit.js";

export type NetworkFault =
  /** Symmetric partition: `minority` against every other host. */
  | { readonly kind: "partition"; readonly minority: readonly string[] }
  /** Hosts `sideA` and `sideB` cannot talk; `bridge` (in no group) reaches both. */
  | { readonly kind: "bridge"; readonly sideA: readonly string[]; readonly bridge: string; readonly sideB: readonly string[] }
  /** IP from `from` to every other host is dropped; the other way passes. */
  | { readonly kind: "one-way"; readonly from: string }
  /** `percent` % of the frames to and from each of `hosts`, at random. */
  | { readonly kind: "loss"; readonly hosts: readonly string[]; readonly percent: number }
  /** kill -9 of the agent on `host`; restarted from its data directory when the step ends. */
  | { readonly kind: "kill"; readonly host: string }
  /** SIGSTOP of every process on `host` (agent, instances, watchdogs); SIGCONT when the step ends. */
  | { readonly kind: "freeze"; readonly host: string };

export interface NemesisStep {
  readonly fault: NetworkFault;
  /** Random loss added on top while the fault holds (none when null). */
  readonly extraLoss: { readonly host: string; readonly percent: number } | null;
  /** For partitions: which side each client namespace joins ("none": it reaches every host). */
  readonly clientSides: Readonly<Record<string, "minority" | "majority" | "none">>;
  /** Swap the primary target with the leader of the moment. */
  readonly preferLeader: boolean;
  readonly holdMs: number;
  readonly quietMs: number;
}

export interface NemesisPlanOptions {
  readonly seed: number;
  readonly hosts: readonly string[];
  /** Client namespaces that may join a partition's side; others always reach every host. */
  readonly movableClients: readonly string[];
  /** The plan covers at least this much time (holds and quiet gaps). */
  readonly durationMs: number;
  /** Fault kinds allowed (default: all). */
  readonly kinds?: readonly NetworkFault["kind"][];
  /** Loss percent of `loss` steps and of extra loss (default 20). */
  readonly lossPercent?: number;
  readonly holdMsMin?: number;
  readonly holdMsMax?: number;
  readonly quietMsMin?: number;
  readonly quietMsMax?: number;
}

export const ALL_FAULT_KINDS: readonly NetworkFault["kind"][] = ["partition", "bridge", "one-way", "loss", "kill", "freeze"];

/** The first host a fault strikes (see the file comment). */
export function primaryOf(fault: NetworkFault): string {
  switch (fault.kind) {
    case "partition": return fault.minority[0]!;
    case "bridge": return fault.sideA[0]!;
    case "one-way": return fault.from;
    case "loss": return fault.hosts[0]!;
    case "kill":
    case "freeze": return fault.host;
  }
}

/** `step` with host names `a` and `b` swapped everywhere, so that `target` becomes its primary. */
export function withPrimary(step: NemesisStep, target: string): NemesisStep {
  const a = primaryOf(step.fault);
  if (a === target) return step;
  const swap = (h: string): string => (h === a ? target : h === target ? a : h);
  const f = step.fault;
  const fault: NetworkFault =
    f.kind === "partition" ? { ...f, minority: f.minority.map(swap) }
    : f.kind === "bridge" ? { ...f, sideA: f.sideA.map(swap), bridge: swap(f.bridge), sideB: f.sideB.map(swap) }
    : f.kind === "one-way" ? { ...f, from: swap(f.from) }
    : f.kind === "loss" ? { ...f, hosts: f.hosts.map(swap) }
    : { ...f, host: swap(f.host) };
  return { ...step, fault, extraLoss: step.extraLoss === null ? null : { ...step.extraLoss, host: swap(step.extraLoss.host) } };
}

/** One line describing a step, for logs. */
export function describeStep(step: NemesisStep): string {
  const f = step.fault;
  const what =
    f.kind === "partition" ? `partition [${f.minority.join(",")}] | rest`
    : f.kind === "bridge" ? `bridge [${f.sideA.join(",")}] -${f.bridge}- [${f.sideB.join(",")}]`
    : f.kind === "one-way" ? `one-way ${f.from} -/-> others`
    : f.kind === "loss" ? `loss ${f.percent}% on ${f.hosts.join(",")}`
    : `${f.kind === "kill" ? "kill -9" : "SIGSTOP"} ${f.host}`;
  const sides = Object.entries(step.clientSides).filter(([, s]) => s !== "none").map(([c, s]) => `${c}:${s}`);
  return `${what}${step.extraLoss ? ` + loss ${step.extraLoss.percent}% on ${step.extraLoss.host}` : ""}${sides.length ? ` (${sides.join(" ")})` : ""} for ${step.holdMs} ms, quiet ${step.quietMs} ms`;
}

/** Draws the schedule for `options.seed`. */
export function planNemesis(options: NemesisPlanOptions): NemesisStep[] {
  const random = seededRandom(options.seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const shuffled = <T>(xs: readonly T[]): T[] => {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  const kinds = options.kinds ?? ALL_FAULT_KINDS;
  const loss = options.lossPercent ?? 20;
  const hosts = options.hosts;
  const minoritySize = Math.floor((hosts.length - 1) / 2);
  const steps: NemesisStep[] = [];
  let total = 0;
  while (total < options.durationMs) {
    const kind = pick(kinds);
    const order = shuffled(hosts);
    let fault: NetworkFault;
    if (kind === "partition") fault = { kind, minority: order.slice(0, Math.max(1, minoritySize)) };
    else if (kind === "bridge") {
      // One host sees both sides; the others split as evenly as they can.
      const rest = order.filter((_, i) => i !== 1);
      const half = Math.ceil(rest.length / 2);
      fault = { kind, sideA: rest.slice(0, half), bridge: order[1]!, sideB: rest.slice(half) };
    } else if (kind === "one-way") fault = { kind, from: order[0]! };
    else if (kind === "loss") fault = { kind, hosts: order.slice(0, int(1, Math.max(1, minoritySize))), percent: loss };
    else fault = { kind, host: order[0]! };
    const clientSides: Record<string, "minority" | "majority" | "none"> = {};
    for (const c of options.movableClients) clientSides[c] = kind === "partition" || kind === "bridge" ? pick(["minority", "majority", "none"] as const) : "none";
    const extraLoss = kind !== "loss" && random() < 0.25 ? { host: pick(hosts), percent: loss } : null;
    const step: NemesisStep = {
      fault,
      extraLoss,
      clientSides,
      preferLeader: random() < 0.5,
      holdMs: int(options.holdMsMin ?? 2_000, options.holdMsMax ?? 5_000),
      quietMs: int(options.quietMsMin ?? 1_000, options.quietMsMax ?? 2_500),
    };
    steps.push(step);
    total += step.holdMs + step.quietMs;
  }
  return steps;
}
