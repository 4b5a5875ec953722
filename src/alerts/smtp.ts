// The e-mail channel: one message per alert over SMTP with nodemailer (a new connection each time,
// so a dead server costs one timeout, not a stuck pool). STARTTLS is required in "starttls" mode —
// a server that does not offer it is a failure, never a silent plain-text fallback.
import { readFile } from "node:fs/promises";
import { createTransport } from "nodemailer";
import type { Alert } from "./core/model.js";
import type { AlertChannel } from "./channel.js";
import { DeliveryError } from "./channel.js";
import type { SmtpChannelConfig } from "./config.js";
import { mailText } from "./format.js";

/** Creates an SMTP channel; paths in `config` must be absolute. Reads the password and CA files once. */
export async function smtpChannel(config: SmtpChannelConfig, timeoutMs: number): Promise<AlertChannel> {
  const read = (file: string, what: string): Promise<string> => readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
    throw new Error(`Cannot read the ${what} of alert channel ${config.name} from ${file}: ${err.code ?? err.message}; fix the path under alerts.channels in the node config`, { cause: err });
  });
  const ca = config.caFile === undefined ? undefined : await read(config.caFile, "CA certificate");
  const auth = config.auth;
  const password = auth === undefined ? undefined : auth.password ?? (await read(auth.passwordFile ?? "", "SMTP password")).trim();
  const options = {
    host: config.host,
    port: config.port,
    secure: config.tls === "implicit",
    requireTLS: config.tls === "starttls",
    ignoreTLS: config.tls === "none",
    tls: ca === undefined ? {} : { ca },
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    ...(auth === undefined ? {} : { auth: { user: auth.user, pass: password }, ...(auth.method === undefined ? {} : { authMethod: auth.method }) }),
  };
  return {
    name: config.name,
    kind: "smtp",
    async send(alert: Alert, signal: AbortSignal): Promise<void> {
      const transport = createTransport(options);
      const onAbort = (): void => transport.close();
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        const { subject, text } = mailText(alert);
        await transport.sendMail({ from: config.from, to: config.to, subject, text, headers: { "X-Phalanx-Fingerprint": alert.fingerprint, "X-Phalanx-Status": alert.status } });
      } catch (err) {
        const e = err as Error & { code?: string; responseCode?: number };
        if (signal.aborted) throw new DeliveryError("timeout", `SMTP ${config.host}:${config.port} (channel ${config.name}) did not take the mail in time`, { cause: err });
        const code = e.responseCode !== undefined ? "refused" : "unreachable";
        throw new DeliveryError(code, `Cannot send alert mail through ${config.host}:${config.port} (channel ${config.name}): ${e.code ?? ""} ${e.message}`.replace(/\s+/g, " "), { cause: err });
      } finally {
        signal.removeEventListener("abort", onAbort);
        transport.close();
      }
    },
  };
}
