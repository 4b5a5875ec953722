// The `vip:` section of a service (or of the cluster): one virtual IP that follows the active role.
// Additive: the service schema (service.ts) can take it as `vip: vipSchema.optional()`.
import { z } from "zod";
import { parseVipAddress } from "../vip/core/address.js";

/** Linux interface names: at most 15 bytes, no slash or whitespace. */
const interfaceName = z.string().regex(/^[A-Za-z0-9_.:@-]{1,15}$/, { message: "Interface must be a Linux interface name (1–15 letters, digits, _ . : @ -), e.g. eth0" });

export const vipSchema = z.object({
  /** "ADDRESS/PREFIX", IPv4 or IPv6, e.g. "10.0.0.100/24". */
  address: z.string().superRefine((text, ctx) => {
    const parsed = parseVipAddress(text);
    if ("error" in parsed) ctx.addIssue({ code: z.ZodIssueCode.custom, message: parsed.error });
  }),
  /** The interface the address is added to on the holder, e.g. "eth0". */
  interface: interfaceName,
}).strict();

export type VipConfig = z.output<typeof vipSchema>;
