// The webhook channel: POSTs the Alertmanager webhook body (format.ts) with undici. Any 2xx is a
// delivery; anything else, a connection error or the deadline is a failure to retry.
import { request } from "undici";
import type { Alert } from "./core/model.js";
import type { AlertChannel } from "./channel.js";
import { DeliveryError } from "./channel.js";
import type { WebhookChannelConfig } from "./config.js";
import { webhookBody } from "./format.js";

/** Most of a receiver's answer kept for the error message. */
const MAX_ERROR_BODY_CHARS = 200;

/** Creates a webhook channel. */
export function webhookChannel(config: WebhookChannelConfig, externalUrl: string): AlertChannel {
  return {
    name: config.name,
    kind: "webhook",
    async send(alert: Alert, signal: AbortSignal): Promise<void> {
      const body = JSON.stringify(webhookBody(alert, config.name, externalUrl));
      let answer;
      try {
        answer = await request(config.url, { method: "POST", headers: { ...config.headers, "content-type": "application/json" }, body, signal });
      } catch (err) {
        if (signal.aborted) throw new DeliveryError("timeout", `Webhook ${config.name} (${config.url}) did not answer in time`, { cause: err });
        throw new DeliveryError("unreachable", `Cannot reach webhook ${config.name} at ${config.url}: ${(err as Error).message}`, { cause: err });
      }
      const text = await answer.body.text().catch(() => "");
      if (answer.statusCode < 200 || answer.statusCode > 299) {
        throw new DeliveryError("refused", `Webhook ${config.name} (${config.url}) answered ${answer.statusCode}: ${text.slice(0, MAX_ERROR_BODY_CHARS)}`);
      }
    },
  };
}
