// All three alert channels of a test cluster at once, each with its receiver: a webhook receiver, an
// exec script that appends one line per alert (with the time it ran) to a file, and smtp-server
// with STARTTLS and AUTH. `config` goes into the nodes' `alerts.channels`; `deliveries(name,
// service)` reads back what each channel received of one alert. Used by alerts/failover-alert-
// latency.test.ts and server/dashboard/failover-everywhere.test.ts.
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClusterFileOptions } from "../cli/cluster-files.js";
import { SmtpReceiver, WebhookReceiver } from "./alert-receivers.js";
import { waitFor, type ServicesFixture } from "./services-testkit.js";

/** The channels, in the order tables print them. */
export const CHANNELS = ["webhook", "exec", "smtp"] as const;
export type ChannelName = (typeof CHANNELS)[number];

/** One delivery as a channel saw it. */
export interface Delivery {
  readonly status: string;
  readonly fingerprint: string;
  /** Wall-clock ms at which the receiver got it (the exec script: when it ran). */
  readonly atMs: number;
}

/** The failover alert's name and its mail subject (alerts/format.ts). */
const MAIL_SUBJECT: Readonly<Record<string, (service: string) => RegExp>> = {
  PhalanxFailover: (service) => new RegExp(`Subject: .*Failover of service ${service}\\b`),
};

/** The three channels and their receivers; close() stops the receivers and removes the directory. */
export class AlertChannels {
  private constructor(readonly webhook: WebhookReceiver, readonly smtp: SmtpReceiver, private readonly dir: string, private readonly execLog: string) {}

  static async start(): Promise<AlertChannels> {
    const dir = await mkdtemp(join(tmpdir(), "phalanx-alert-channels-"));
    const webhook = await WebhookReceiver.start();
    const smtp = await SmtpReceiver.start(dir).catch(async (err: unknown) => {
      await webhook.close();
      throw err;
    });
    const execLog = join(dir, "exec.log");
    const script = join(dir, "notify.sh");
    await writeFile(script, `#!/bin/sh\necho "$PHALANX_ALERT_NAME $PHALANX_ALERT_SERVICE $PHALANX_ALERT_STATUS $PHALANX_ALERT_FINGERPRINT $(date +%s%3N)" >> "${execLog}"\n`);
    await chmod(script, 0o755);
    await writeFile(execLog, "");
    return new AlertChannels(webhook, smtp, dir, execLog);
  }

  /** The nodes' `alerts.channels`: one of each type, default delivery settings. */
  get config(): NonNullable<ClusterFileOptions["alerts"]>["channels"] {
    return [{ type: "webhook", name: "hook", url: this.webhook.url }, { type: "exec", name: "script", command: join(this.dir, "notify.sh") }, this.smtp.channel("mail")];
  }

  /** What each channel has received of alert `name` (PhalanxFailover) about `service`, in arrival order. */
  async deliveries(name: keyof typeof MAIL_SUBJECT, service: string): Promise<Record<ChannelName, Delivery[]>> {
    const webhook = this.webhook.bodies.flatMap((b, i) => (b as { alerts: { status: string; fingerprint: string; labels: Record<string, string> }[] }).alerts
      .filter((a) => a.labels.alertname === name && a.labels.service === service)
      .map((a) => ({ status: a.status, fingerprint: a.fingerprint, atMs: this.webhook.receivedAtMs[i]! })));
    const exec = (await readFile(this.execLog, "utf8")).split("\n").filter((l) => l.startsWith(`${name} ${service} `)).map((l) => {
      const [, , status = "", fingerprint = "", at = "0"] = l.split(" ");
      return { status, fingerprint, atMs: Number(at) };
    });
    const subject = MAIL_SUBJECT[name]!(service);
    const smtp = this.smtp.mails.filter((m) => subject.test(m.data)).map((m) => ({
      status: /X-Phalanx-Status: (\w+)/.exec(m.data)?.[1] ?? "",
      fingerprint: /X-Phalanx-Fingerprint: (\w+)/.exec(m.data)?.[1] ?? "",
      atMs: m.receivedAtMs,
    }));
    return { webhook, exec, smtp };
  }

  async close(): Promise<void> {
    await this.webhook.close();
    await this.smtp.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Leaves out of `all` the deliveries whose fingerprint is in `before` (alerts from before the test's fault). */
export function newerThan(all: Record<ChannelName, Delivery[]>, before: ReadonlySet<string>): Record<ChannelName, Delivery[]> {
  return { webhook: all.webhook.filter((x) => !before.has(x.fingerprint)), exec: all.exec.filter((x) => !before.has(x.fingerprint)), smtp: all.smtp.filter((x) => !before.has(x.fingerprint)) };
}

/** Groups a channel's deliveries by fingerprint: fingerprint → statuses in arrival order. */
export function statusesByFingerprint(deliveries: readonly Delivery[]): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const x of deliveries) by.set(x.fingerprint, [...(by.get(x.fingerprint) ?? []), x.status]);
  return by;
}

/** Waits until the leader's alert outbox is empty (every delivery done and its deletion committed); `down`: a node not to ask. */
export async function outboxDrained(f: ServicesFixture, down?: number): Promise<void> {
  await waitFor("the alert outbox drained", async () => {
    const leader = await f.cluster.leader(30_000, [1, 2, 3].filter((n) => n !== down));
    const r = await fetch(`http://${f.cluster.endpoints([leader])[0]}/v3/phalanx/alerts`, { headers: { authorization: `Bearer ${f.cluster.token}` } });
    return r.status === 200 && ((await r.json()) as { pending: unknown[] }).pending.length === 0 ? true : undefined;
  }, 30_000);
}
