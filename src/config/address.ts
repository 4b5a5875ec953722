// `host:port` addresses as written in config files: `127.0.0.1:8080`, `[::1]:8080`, `db.local:5432`.
import { z } from "zod";

/** A parsed address. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses `host:port`; returns an error message when the text is not one. */
export function parseHostPort(text: string, options: { allowPortZero: boolean }): HostPort | string {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text);
  if (!match) return `Expected host:port, got "${text}"`;
  const host = match[1] ?? match[2] ?? "";
  const port = Number(match[3]);
  const min = options.allowPortZero ? 0 : 1;
  if (port < min || port > 65535) return `Port ${port} is out of range ${min}-65535`;
  return { host, port };
}

/** A zod schema for `host:port`, giving a HostPort. */
export function hostPortSchema(options: { allowPortZero: boolean }): z.ZodType<HostPort, z.ZodTypeDef, unknown> {
  // YAML reads a bare `8080` as a number: report it as a malformed address, not a type error.
  const text = z.preprocess((v) => (typeof v === "number" ? String(v) : v), z.string());
  return text.transform((text, ctx): HostPort => {
    const parsed = parseHostPort(text, options);
    if (typeof parsed === "string") {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: parsed, params: { hint: "write it as 127.0.0.1:8080 or [::1]:8080" } });
      return z.NEVER;
    }
    return parsed;
  });
}
