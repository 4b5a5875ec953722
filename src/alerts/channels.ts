// Builds the configured channels, resolving their paths against the config file's directory.
import { dirname, resolve } from "node:path";
import type { AlertChannel } from "./channel.js";
import type { AlertsConfig } from "./config.js";
import { execChannel } from "./exec.js";
import { smtpChannel } from "./smtp.js";
import { webhookChannel } from "./webhook.js";

/** The channels of an `alerts:` section; `configFile` anchors relative paths. */
export async function createChannels(config: AlertsConfig, configFile: string): Promise<AlertChannel[]> {
  const base = dirname(resolve(configFile));
  const channels: AlertChannel[] = [];
  for (const c of config.channels) {
    if (c.type === "webhook") channels.push(webhookChannel(c, config.externalUrl ?? ""));
    else if (c.type === "exec") channels.push(execChannel({ ...c, command: resolve(base, c.command) }));
    else {
      const auth = c.auth === undefined ? undefined : { ...c.auth, ...(c.auth.passwordFile === undefined ? {} : { passwordFile: resolve(base, c.auth.passwordFile) }) };
      channels.push(await smtpChannel({ ...c, ...(c.caFile === undefined ? {} : { caFile: resolve(base, c.caFile) }), ...(auth === undefined ? {} : { auth }) }, config.delivery.timeoutMs));
    }
  }
  return channels;
}
