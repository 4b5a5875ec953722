// The alert vocabulary, shaped like Prometheus Alertmanager's so that a webhook receiver written for
// Alertmanager reads ours unchanged. Pure: no clock, no I/O (times are passed in as epoch ms).

/** Whether an alert is active or over. */
export type AlertStatus = "firing" | "resolved";
/** How urgent an alert is; receivers route on it. */
export type AlertSeverity = "critical" | "warning" | "info";

/** One alert: a labelled condition with a start (and, once resolved, an end). */
export interface Alert {
  readonly name: string;
  readonly status: AlertStatus;
  readonly severity: AlertSeverity;
  /** Identify the alert; `alertname` and `severity` are always among them. */
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: { readonly summary: string; readonly description: string } & Readonly<Record<string, string>>;
  /** Wall-clock epoch milliseconds. */
  readonly startsAtMs: number;
  /** Epoch ms when resolved; null while firing. */
  readonly endsAtMs: number | null;
  /** Stable hash of the labels (fingerprintOf): the identity used for deduplication. */
  readonly fingerprint: string;
}

const FNV_OFFSET_64 = 0xcbf29ce484222325n;
const FNV_PRIME_64 = 0x100000001b3n;
const MASK_64 = 0xffffffffffffffffn;
/** Alertmanager separates label names and values with 0xff, a byte that never occurs in UTF-8. */
const SEPARATOR_BYTE = 0xff;

/**
 * The alert's identity: FNV-1a 64 over the labels sorted by name, each as name 0xff value 0xff —
 * Prometheus' model.LabelSet.Fingerprint, so the same labels give the same 16 hex digits here and
 * in Alertmanager. The alert name is the `alertname` label, so it is part of the hash.
 */
export function fingerprintOf(labels: Readonly<Record<string, string>>): string {
  const encoder = new TextEncoder();
  let hash = FNV_OFFSET_64;
  const mix = (byte: number): void => {
    hash ^= BigInt(byte);
    hash = (hash * FNV_PRIME_64) & MASK_64;
  };
  for (const name of Object.keys(labels).sort()) {
    for (const b of encoder.encode(name)) mix(b);
    mix(SEPARATOR_BYTE);
    for (const b of encoder.encode(labels[name] ?? "")) mix(b);
    mix(SEPARATOR_BYTE);
  }
  return hash.toString(16).padStart(16, "0");
}

/** What a rule wants raised: the alert without its derived fields. */
export interface AlertSpec {
  readonly name: string;
  readonly severity: AlertSeverity;
  /** Identifying labels besides alertname and severity. */
  readonly labels: Readonly<Record<string, string>>;
  readonly summary: string;
  readonly description: string;
  readonly extraAnnotations?: Readonly<Record<string, string>>;
}

/** Builds a firing alert from a spec. */
export function firingAlert(spec: AlertSpec, nowMs: number, commonLabels: Readonly<Record<string, string>> = {}): Alert {
  const labels = { ...commonLabels, ...spec.labels, alertname: spec.name, severity: spec.severity };
  return {
    name: spec.name,
    status: "firing",
    severity: spec.severity,
    labels,
    annotations: { ...spec.extraAnnotations, summary: spec.summary, description: spec.description },
    startsAtMs: nowMs,
    endsAtMs: null,
    fingerprint: fingerprintOf(labels),
  };
}

/** The resolved form of a firing alert, optionally with new annotations (e.g. a failover's duration). */
export function resolvedAlert(alert: Alert, nowMs: number, annotations: Partial<Record<string, string>> = {}): Alert {
  const merged: Record<string, string> = { ...alert.annotations };
  for (const [k, v] of Object.entries(annotations)) if (v !== undefined) merged[k] = v;
  return {
    ...alert,
    status: "resolved",
    annotations: { ...merged, summary: merged.summary ?? alert.annotations.summary, description: merged.description ?? alert.annotations.description },
    endsAtMs: Math.max(nowMs, alert.startsAtMs),
  };
}
