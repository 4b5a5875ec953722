// The `alerts:` section of the node config (server/node-config.ts): the delivery channels, the
// rule thresholds and the delivery bounds. Every node carries the same section; only the leader
// delivers. Paths (an exec command, an SMTP password file or CA) are relative to the config file.
import { z } from "zod";
import { CHANNEL_NAME_PATTERN } from "./core/outbox-plan.js";
import { DEFAULT_RULE_THRESHOLDS } from "./core/rules.js";

const channelName = z.string().regex(CHANNEL_NAME_PATTERN, "must be 1-63 characters of a-z, 0-9, '-' or '_', starting with a letter or digit");
const email = z.string().regex(/^[^\s@<>]+@[^\s@<>]+$/, "must be an e-mail address like ops@example.com");

const webhookChannel = z.object({
  type: z.literal("webhook"),
  name: channelName,
  url: z.string().url().refine((u) => /^https?:\/\//.test(u), { message: "must be an http:// or https:// URL" }),
  /** Extra request headers (e.g. Authorization for the receiver). */
  headers: z.record(z.string()).default({}),
}).strict();

const execChannel = z.object({
  type: z.literal("exec"),
  name: channelName,
  /** Program to run (no shell); it gets the alert in PHALANX_ALERT_* variables. Exit 0 = delivered. */
  command: z.string().min(1),
  args: z.array(z.string()).max(32).default([]),
}).strict();

const smtpChannel = z.object({
  type: z.literal("smtp"),
  name: channelName,
  host: z.string().min(1),
  port: z.number().int().min(1).max(65_535).default(587),
  /** "starttls": plain connection upgraded with STARTTLS, required; "implicit": TLS from the first byte (port 465); "none": no TLS (a local relay only). */
  tls: z.enum(["starttls", "implicit", "none"]).default("starttls"),
  /** PEM file of the CA that signed the server's certificate (default: the system CAs). */
  caFile: z.string().min(1).optional(),
  auth: z.object({
    user: z.string().min(1),
    /** File holding the password (preferred: keeps the secret out of the config). */
    passwordFile: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    method: z.enum(["PLAIN", "LOGIN"]).optional(),
  }).strict().refine((a) => (a.password === undefined) !== (a.passwordFile === undefined), { message: "give exactly one of password and passwordFile" }).optional(),
  from: email,
  to: z.array(email).min(1).max(32),
}).strict();

/** One delivery channel. */
export const channelSchema = z.discriminatedUnion("type", [webhookChannel, execChannel, smtpChannel]);
export type ChannelConfig = z.output<typeof channelSchema>;
export type SmtpChannelConfig = z.output<typeof smtpChannel>;
export type WebhookChannelConfig = z.output<typeof webhookChannel>;
export type ExecChannelConfig = z.output<typeof execChannel>;

/** Delivery defaults: 10 s per attempt, retries from 1 s doubling up to 60 s, 1000 pending per channel. */
export const DEFAULT_DELIVERY = {
  timeoutMs: 10_000,
  backoffInitialMs: 1_000,
  backoffMaxMs: 60_000,
  /** After this many failed attempts an item is dropped (logged as an error). */
  maxAttempts: 100,
  maxPendingPerChannel: 1_000,
  concurrencyPerChannel: 4,
  /** How often the leader looks at the outbox for items that are due (it also looks after each enqueue). */
  scanIntervalMs: 1_000,
  /** How often the leader samples peer links and the fsync window for the rules. */
  sampleIntervalMs: 1_000,
  /** A leaderless period longer than this, seen by the node that becomes leader, is reported as a lost quorum. */
  quorumLostAfterMs: 3_000,
} as const;

const ms = (min: number) => z.number().int().min(min).max(86_400_000);

export const alertsConfigSchema = z.object({
  /** Link put in generatorURL / externalURL (e.g. the dashboard). */
  externalUrl: z.string().url().optional(),
  channels: z.array(channelSchema).max(16).default([]),
  thresholds: z.object({
    nodeDownAfterMs: ms(100).default(DEFAULT_RULE_THRESHOLDS.nodeDownAfterMs),
    flapCount: z.number().int().min(2).max(64).default(DEFAULT_RULE_THRESHOLDS.flapCount),
    flapWindowMs: ms(1000).default(DEFAULT_RULE_THRESHOLDS.flapWindowMs),
    fsyncP99Ms: z.number().positive().default(DEFAULT_RULE_THRESHOLDS.fsyncP99Ms),
    clockSkewMs: z.number().positive().default(DEFAULT_RULE_THRESHOLDS.clockSkewMs),
  }).strict().default({}),
  delivery: z.object({
    timeoutMs: ms(10).default(DEFAULT_DELIVERY.timeoutMs),
    backoffInitialMs: ms(1).default(DEFAULT_DELIVERY.backoffInitialMs),
    backoffMaxMs: ms(1).default(DEFAULT_DELIVERY.backoffMaxMs),
    maxAttempts: z.number().int().min(1).max(10_000).default(DEFAULT_DELIVERY.maxAttempts),
    maxPendingPerChannel: z.number().int().min(1).max(100_000).default(DEFAULT_DELIVERY.maxPendingPerChannel),
    concurrencyPerChannel: z.number().int().min(1).max(64).default(DEFAULT_DELIVERY.concurrencyPerChannel),
    scanIntervalMs: ms(5).default(DEFAULT_DELIVERY.scanIntervalMs),
    sampleIntervalMs: ms(5).default(DEFAULT_DELIVERY.sampleIntervalMs),
    quorumLostAfterMs: ms(1).default(DEFAULT_DELIVERY.quorumLostAfterMs),
  }).strict().default({}),
}).strict().superRefine((c, ctx) => {
  const seen = new Set<string>();
  c.channels.forEach((ch, i) => {
    if (seen.has(ch.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["channels", i, "name"], message: `Channel name "${ch.name}" is used twice: give each channel its own name` });
    seen.add(ch.name);
  });
  if (c.delivery.backoffMaxMs < c.delivery.backoffInitialMs) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["delivery", "backoffMaxMs"], message: `backoffMaxMs (${c.delivery.backoffMaxMs}) must not be below backoffInitialMs (${c.delivery.backoffInitialMs})` });
  }
});

/** The validated `alerts:` section. */
export type AlertsConfig = z.output<typeof alertsConfigSchema>;
/** Delivery bounds. */
export type DeliveryPolicy = AlertsConfig["delivery"];
