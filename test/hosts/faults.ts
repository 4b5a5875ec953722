// The network faults of a host harness, as a value, and the nftables ruleset that enforces them.
// Pure: no I/O. The harness keeps one FaultState per switch and loads the ruleset this file
// renders into the switch's namespace with `nft -f -` after every change.
//
// Faults are enforced at the switch (a bridge in its own namespace), on the bridge family's
// forward hook, between switch ports — one port per host or client. Filtering frames where a
// real switch would lose them (rather than in each host's own IP stack) also cuts ARP, which a
// host's inet-family table never sees: a gratuitous ARP from an isolated host must not reach the
// others, or a virtual-IP test would pass on a network that cannot exist.

/** A switch port name (= node name): short, so it is a valid interface name and safe in a ruleset. */
const PORT_NAME = /^[a-z][a-z0-9]{0,14}$/;

/** One one-way cut: frames from any node of `from` to any node of `to` are dropped. */
export interface OneWayCut {
  readonly from: readonly string[];
  readonly to: readonly string[];
}

/** Every fault in force on one switch. */
export interface FaultState {
  /** Groups that cannot reach each other at all; a node in no group reaches everyone. Empty: none. */
  readonly partition: readonly (readonly string[])[];
  /** IP frames dropped in one direction only; ARP still passes, so the other direction works. */
  readonly oneWay: readonly OneWayCut[];
  /** Percent (0–100) of frames dropped at random, per node, both leaving and reaching it. */
  readonly lossPercent: ReadonlyMap<string, number>;
}

/** The state with no fault in force. */
export const NO_FAULTS: FaultState = { partition: [], oneWay: [], lossPercent: new Map() };

/** True when `state` drops nothing (the table can be deleted instead of loaded). */
export function isHealthy(state: FaultState): boolean {
  return state.partition.length === 0 && state.oneWay.length === 0 && [...state.lossPercent.values()].every((p) => p === 0);
}

/** Throws when a fault names something that is not a port name or a group is repeated. */
export function validateFaults(state: FaultState, ports: ReadonlySet<string>): void {
  const check = (name: string): void => {
    if (!PORT_NAME.test(name)) throw new Error(`Cannot apply fault: "${name}" is not a valid node name (lowercase letters and digits, at most 15)`);
    if (!ports.has(name)) throw new Error(`Cannot apply fault: no node named "${name}"; nodes are ${[...ports].join(", ")}`);
  };
  const seen = new Set<string>();
  for (const group of state.partition) {
    for (const name of group) {
      check(name);
      if (seen.has(name)) throw new Error(`Cannot partition: "${name}" is in two groups; a node belongs to at most one side`);
      seen.add(name);
    }
  }
  for (const cut of state.oneWay) [...cut.from, ...cut.to].forEach(check);
  for (const [name, percent] of state.lossPercent) {
    check(name);
    if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw new Error(`Cannot set loss of "${name}" to ${percent}: give an integer percent from 0 to 100`);
  }
}

const quoted = (names: readonly string[]): string => (names.length === 1 ? `"${names[0]}"` : `{ ${names.map((n) => `"${n}"`).join(", ")} }`);

/** The drop rules of `state`, one nft rule per line, in the order they are evaluated. */
export function faultRules(state: FaultState): string[] {
  const rules: string[] = [];
  state.partition.forEach((group, i) => {
    const others = state.partition.filter((_, j) => j !== i).flat();
    if (group.length > 0 && others.length > 0) rules.push(`iifname ${quoted(group)} oifname ${quoted(others)} drop`);
  });
  for (const cut of state.oneWay) {
    if (cut.from.length > 0 && cut.to.length > 0) rules.push(`iifname ${quoted(cut.from)} oifname ${quoted(cut.to)} ether type != arp drop`);
  }
  for (const [name, percent] of state.lossPercent) {
    if (percent === 0) continue;
    const verdict = percent === 100 ? "drop" : `numgen random mod 100 < ${percent} drop`;
    rules.push(`iifname "${name}" ${verdict}`, `oifname "${name}" ${verdict}`);
  }
  return rules;
}

/**
 * The `nft -f -` script that replaces table `bridge <table>` with the rules of `state`, atomically
 * (one transaction: create if missing, delete, define), so no instant has half the old faults and
 * half the new ones.
 */
export function faultRuleset(table: string, state: FaultState): string {
  if (!PORT_NAME.test(table.replace(/_/g, ""))) throw new Error(`Cannot name an nft table "${table}": use lowercase letters, digits and _`);
  const body = faultRules(state).map((r) => `    ${r}`).join("\n");
  return [
    `add table bridge ${table}`,
    `delete table bridge ${table}`,
    `table bridge ${table} {`,
    `  chain faults {`,
    `    type filter hook forward priority 0; policy accept;`,
    ...(body === "" ? [] : [body]),
    `  }`,
    `}`,
    ``,
  ].join("\n");
}
