// How an alert looks to each receiver: the Alertmanager webhook body (version 4) and the
// environment of an exec channel's command (in the manner of Pacemaker's CRM_alert_* variables).
import type { Alert } from "./core/model.js";

/** The ISO 8601 time Alertmanager uses; "0001-01-01T00:00:00Z" is its zero time ("not ended"). */
export function isoTime(epochMs: number | null): string {
  return epochMs === null ? "0001-01-01T00:00:00Z" : new Date(epochMs).toISOString();
}

/** One alert in an Alertmanager webhook body. */
export interface WebhookAlert {
  readonly status: "firing" | "resolved";
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL: string;
  readonly fingerprint: string;
}

/** Alertmanager's webhook payload (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
export interface WebhookBody {
  readonly version: "4";
  readonly groupKey: string;
  readonly truncatedAlerts: number;
  readonly status: "firing" | "resolved";
  readonly receiver: string;
  readonly groupLabels: Record<string, string>;
  readonly commonLabels: Record<string, string>;
  readonly commonAnnotations: Record<string, string>;
  readonly externalURL: string;
  readonly alerts: readonly WebhookAlert[];
}

/** The webhook body for one alert: a group of one, grouped by alertname. */
export function webhookBody(alert: Alert, receiver: string, externalUrl: string): WebhookBody {
  const groupLabels = { alertname: alert.name };
  return {
    version: "4",
    groupKey: `{}:{alertname=${JSON.stringify(alert.name)}}`,
    truncatedAlerts: 0,
    status: alert.status,
    receiver,
    groupLabels,
    commonLabels: { ...alert.labels },
    commonAnnotations: { ...alert.annotations },
    externalURL: externalUrl,
    alerts: [{
      status: alert.status,
      labels: { ...alert.labels },
      annotations: { ...alert.annotations },
      startsAt: isoTime(alert.startsAtMs),
      endsAt: isoTime(alert.endsAtMs),
      generatorURL: externalUrl,
      fingerprint: alert.fingerprint,
    }],
  };
}

/** Prefix of the exec channel's variables. */
export const ENV_PREFIX = "PHALANX_ALERT_";

/** The environment an exec channel's command gets (added to the node's own). */
export function alertEnv(alert: Alert, channel: string): Record<string, string> {
  return {
    [`${ENV_PREFIX}NAME`]: alert.name,
    [`${ENV_PREFIX}STATUS`]: alert.status,
    [`${ENV_PREFIX}SEVERITY`]: alert.severity,
    [`${ENV_PREFIX}FINGERPRINT`]: alert.fingerprint,
    [`${ENV_PREFIX}SUMMARY`]: alert.annotations.summary,
    [`${ENV_PREFIX}DESCRIPTION`]: alert.annotations.description,
    [`${ENV_PREFIX}LABELS`]: JSON.stringify(alert.labels),
    [`${ENV_PREFIX}ANNOTATIONS`]: JSON.stringify(alert.annotations),
    [`${ENV_PREFIX}STARTS_AT`]: isoTime(alert.startsAtMs),
    [`${ENV_PREFIX}ENDS_AT`]: alert.endsAtMs === null ? "" : isoTime(alert.endsAtMs),
    [`${ENV_PREFIX}NODE`]: alert.labels.node ?? "",
    [`${ENV_PREFIX}SERVICE`]: alert.labels.service ?? "",
    [`${ENV_PREFIX}CHANNEL`]: channel,
  };
}

/** Subject and plain-text body of an alert e-mail. */
export function mailText(alert: Alert): { subject: string; text: string } {
  const tag = alert.status === "firing" ? `[FIRING ${alert.severity.toUpperCase()}]` : "[RESOLVED]";
  const labels = Object.entries(alert.labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `  ${k} = ${v}`).join("\n");
  const text = [
    alert.annotations.summary,
    "",
    alert.annotations.description,
    "",
    `Status:      ${alert.status}`,
    `Started:     ${isoTime(alert.startsAtMs)}`,
    ...(alert.endsAtMs === null ? [] : [`Ended:       ${isoTime(alert.endsAtMs)}`]),
    `Fingerprint: ${alert.fingerprint}`,
    "Labels:",
    labels,
    "",
  ].join("\n");
  return { subject: `${tag} ${alert.annotations.summary}`, text };
}
