// Judging single-active on the host harness from what the instances DID: an active instance appends
// an action record stamped with its fencing token to a records file every few ms (its "writes to the
// outside world"), with the machine's monotonic clock, which every namespace shares. Two instances
// acted with overlapping authority when their records interleave in time; the project's acting-log
// judge (src/failover/acting-log.ts) decides it, fed one acting interval per tenure (host, instance,
// token) from its first to its last record. Pure.
//
// One exception, and why: a host frozen whole (SIGSTOP of every process on it — agent, fencing
// watchdog, instance) cannot fence anything while frozen, and on SIGCONT its instance's overdue
// timer may run before the overdue watchdog kills it. No lease scheme can stop a paused process from
// acting once more when it resumes; that is what the fencing token is for: such a record carries a
// token below the newest one, so a resource that checks tokens refuses it. Records of a host from
// the start of its thaw (SIGCONT) until `resumeGraceNs` after every process of it runs again, with
// a token below the newest already seen, are therefore counted apart as "fenced after resume" (the
// resource would refuse them) instead of as overlap. Anything else stale — after a partition, a
// kill, loss — is a violation.
import { judgeActingLog, startLine, stopLine } from "../../src/failover/acting-log.js";
import type { ActingReport } from "../../src/failover/acting-log.js";

/** One action of an active instance. */
export interface ActRecord {
  readonly host: string;
  readonly instance: string;
  readonly token: number;
  readonly atNs: bigint;
}

/** A host whose every process was stopped; SIGCONT began at `thawNs`, all ran again by `toNs`. */
export interface HostFreeze {
  /** As the records name it (their `host`: the address the recording app reads from eth0). */
  readonly host: string;
  readonly thawNs: bigint;
  readonly toNs: bigint;
}

/** The line an instance appends per action. */
export function actLine(r: ActRecord): string {
  return `act ${r.host} ${r.instance} ${r.token} ${r.atNs}`;
}

/** Parses `act <host> <instance> <token> <ns>` lines; others are returned as bad. */
export function parseActRecords(text: string): { records: ActRecord[]; bad: string[] } {
  const records: ActRecord[] = [];
  const bad: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    const p = line.split(/\s+/);
    if (p.length === 5 && p[0] === "act" && /^\d+$/.test(p[3]!) && /^\d+$/.test(p[4]!)) records.push({ host: p[1]!, instance: p[2]!, token: Number(p[3]), atNs: BigInt(p[4]!) });
    else bad.push(line);
  }
  return { records, bad };
}

export interface SingleActiveVerdict {
  /** The acting-log judge's report over the tenures (overlaps, tokens that do not grow). */
  readonly report: ActingReport;
  /** Stale-token records of a host just thawed (see the file comment): a token check refuses them. */
  readonly fencedAfterResume: readonly ActRecord[];
  /** Tenures (host, instance, token) seen. */
  readonly tenures: number;
}

/** Judges the records; see the file comment. */
export function judgeSingleActive(records: readonly ActRecord[], freezes: readonly HostFreeze[], resumeGraceNs: bigint): SingleActiveVerdict {
  const sorted = [...records].sort((a, b) => (a.atNs < b.atNs ? -1 : a.atNs > b.atNs ? 1 : 0));
  const justThawed = (r: ActRecord): boolean => freezes.some((f) => f.host === r.host && r.atNs >= f.thawNs && r.atNs <= f.toNs + resumeGraceNs);
  const fencedAfterResume: ActRecord[] = [];
  const spans = new Map<string, { token: number; firstNs: bigint; lastNs: bigint }>();
  let highest = -Infinity;
  for (const r of sorted) {
    if (r.token < highest && justThawed(r)) {
      fencedAfterResume.push(r);
      continue;
    }
    highest = Math.max(highest, r.token);
    const name = `${r.host}/${r.instance}#${r.token}`;
    const span = spans.get(name);
    if (span === undefined) spans.set(name, { token: r.token, firstNs: r.atNs, lastNs: r.atNs });
    else span.lastNs = r.atNs;
  }
  const lines = [...spans].flatMap(([name, s]) => [startLine(name, s.token, s.firstNs), stopLine(name, s.lastNs)]);
  return { report: judgeActingLog(lines), fencedAfterResume, tenures: spans.size };
}

/**
 * The instance app (plain JS, run by the agent): when started as the active (PHALANX_ROLE=active,
 * PHALANX_FENCING_TOKEN), it appends an action record to $RECORDS every ACT_INTERVAL_MS, naming its
 * host by its eth0 address; a cold standby only waits.
 */
export const ACT_INTERVAL_MS = 20;
export const RECORDING_APP = `
const { appendFileSync } = require("node:fs");
const os = require("node:os");
const host = ((os.networkInterfaces().eth0 || []).find((a) => a.family === "IPv4") || { address: "unknown" }).address;
const instance = process.env.PHALANX_INSTANCE || "unknown";
const token = process.env.PHALANX_FENCING_TOKEN || "0";
if (process.env.PHALANX_ROLE !== "active") { setInterval(() => {}, 1000); } else {
  const act = () => appendFileSync(process.env.RECORDS, "act " + host + " " + instance + " " + token + " " + process.hrtime.bigint() + "\\n");
  act();
  setInterval(act, ${ACT_INTERVAL_MS});
  process.on("SIGTERM", () => process.exit(0));
}
`;

/**
 * The services file of the recording app: active-standby with cold standbys. Flap damping is set
 * out of reach: the runs want every failover the faults cause, not the default pause after 3.
 */
export function recordingService(app: string, recordsFile: string, standbys: number): string {
  return [
    "services:",
    "  - name: db",
    `    run: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(app)}] }`,
    `    env: { RECORDS: ${JSON.stringify(recordsFile)} }`,
    "    mode: active-standby",
    `    standbys: ${standbys}`,
    "    standby: cold",
    "    flapDamping: { threshold: 100000 }",
    "",
  ].join("\n");
}
