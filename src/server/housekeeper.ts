// The leader's housekeeping, every HOUSEKEEPING_INTERVAL_MS: record the addresses of bootstrap
// members in the store, keep the cluster CA in the store's internal keys (so any future leader can
// admit joining nodes), and promote caught-up learners so the cluster keeps 3 or 5 voters.
import type { Logger } from "pino";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { PKI_FILES } from "../pki/files.js";
import { autoCompactRevision } from "../kv/store.js";
import type { NodeId } from "../raft/raft.js";
import type { Replica } from "./replica.js";
import { encodeMemberRecord, INTERNAL_PREFIX, memberKey } from "./members.js";
import type { MemberDirectory } from "./members.js";
import type { NodeConfig } from "./node-config.js";

export const HOUSEKEEPING_INTERVAL_MS = 250;
/** A learner is caught up when its log is within this many entries of the leader's commit index. */
export const LEARNER_CATCH_UP_ENTRIES = 100;
/** Most voters: more only slows commits without adding tolerable failures that matter in practice. */
export const MAX_VOTERS = 5;
/** Key of the CA (certificate and key PEM, JSON) inside the store. */
export const CA_KEY = `${INTERNAL_PREFIX}ca`;

/** The number of voters to aim for with `members` nodes: the largest odd number ≤ members, at most MAX_VOTERS. */
export function targetVoters(members: number): number {
  const odd = members % 2 === 1 ? members : members - 1;
  return Math.max(1, Math.min(MAX_VOTERS, odd));
}

/** Runs the leader's housekeeping while this node leads. */
export class ClusterHousekeeper {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(
    private readonly replica: Replica,
    private readonly members: MemberDirectory,
    private readonly config: NodeConfig,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.run(), HOUSEKEEPING_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** One round; errors are logged and retried next round (they are all retryable conditions). */
  async run(): Promise<void> {
    if (this.busy || this.replica.status().role !== "leader") return;
    this.busy = true;
    try {
      await this.recordMembers();
      await this.storeCa();
      await this.promoteLearners();
      await this.compactHistory();
    } catch (err) {
      this.log.debug({ err }, "housekeeping round did not finish");
    } finally {
      this.busy = false;
    }
  }

  private async recordMembers(): Promise<void> {
    const conf = this.replica.status().confState;
    // Only current members: a removed bootstrap member's record stays deleted.
    for (const m of this.members.unrecorded().filter((u) => conf.voters.includes(u.id) || conf.learners.includes(u.id))) {
      await this.replica.propose({ type: "put", key: memberKey(m.id), value: encodeMemberRecord(m) });
      this.log.info({ member: m.id }, "recorded member address");
    }
  }

  private async storeCa(): Promise<void> {
    if (this.replica.kv.get(CA_KEY) !== undefined) return;
    let certPem: string;
    let keyPem: string;
    try {
      certPem = await readFile(join(this.config.pkiDir, PKI_FILES.caCert), "utf8");
      keyPem = await readFile(join(this.config.pkiDir, PKI_FILES.caKey), "utf8");
    } catch {
      return; // this node has no CA key (it joined); the node that has it stores it when it leads
    }
    await this.replica.propose({ type: "txn", compares: [{ key: CA_KEY, target: "version", op: "=", value: 0 }], success: [{ type: "put", key: CA_KEY, value: new TextEncoder().encode(JSON.stringify({ certPem, keyPem })) }], failure: [] });
    this.log.info("stored the cluster CA for future joins");
  }

  /** Keeps the store's history bounded (etcd's revision auto-compaction): watches and old reads get "compacted" below it. */
  private async compactHistory(): Promise<void> {
    const revision = autoCompactRevision(this.replica.kv);
    if (revision === undefined) return;
    await this.replica.propose({ type: "compact", revision });
    this.log.info({ revision }, "compacted store history");
  }

  private async promoteLearners(): Promise<void> {
    const s = this.replica.status();
    if (s.pendingConfIndex !== 0 || s.progress === undefined) return;
    // match 0: the learner never acknowledged an entry (it may never have started), whatever the log's length.
    const caughtUp = s.confState.learners.filter((id) => { const match = s.progress?.get(id)?.match ?? 0; return match > 0 && match + LEARNER_CATCH_UP_ENTRIES >= s.commit; });
    const target = targetVoters(s.confState.voters.length + caughtUp.length);
    const candidate: NodeId | undefined = caughtUp[0];
    if (candidate === undefined || s.confState.voters.length >= target) return;
    await this.replica.proposeConfChange({ type: "addVoter", nodeId: candidate });
    this.log.info({ member: candidate, voters: s.confState.voters.length + 1 }, "promoted caught-up learner to voter");
  }
}
