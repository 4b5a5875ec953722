// What a delivery channel is to the dispatcher: a name and a `send` that resolves once the receiver
// accepted the alert, or rejects with a DeliveryError. Timeouts are enforced by the dispatcher
// through the AbortSignal (and a race, for libraries that ignore it).
import type { Alert } from "./core/model.js";

/** One way of telling the administrator. */
export interface AlertChannel {
  readonly name: string;
  readonly kind: "webhook" | "exec" | "smtp";
  /** Delivers one alert; rejects with DeliveryError when the receiver did not accept it. */
  send(alert: Alert, signal: AbortSignal): Promise<void>;
}

/** A receiver refused, failed or did not answer in time. */
export class DeliveryError extends Error {
  override readonly name = "DeliveryError";

  constructor(readonly code: "refused" | "unreachable" | "timeout" | "failed", message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Runs `send` with a deadline: rejects with a "timeout" DeliveryError after `timeoutMs` even if the channel ignores its signal. */
export async function sendWithTimeout(channel: AlertChannel, alert: Alert, timeoutMs: number): Promise<void> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new DeliveryError("timeout", `Channel ${channel.name} (${channel.kind}) did not deliver within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    await Promise.race([channel.send(alert, controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
