// A virtual IP as configured: "10.0.0.100/24" or "fd00::100/64". Parsed once, so the shell and the
// config schema agree on what a valid VIP is. Pure.

/** A parsed VIP: the address, its prefix length, and the family (which announcement it needs). */
export interface VipAddress {
  readonly address: string;
  readonly prefix: number;
  readonly family: 4 | 6;
  /** "ADDRESS/PREFIX", as `ip addr add` takes it. */
  readonly cidr: string;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
// Loose IPv6 shape (hex groups, one "::" at most); `ip` rejects what slips through, with its own message.
const IPV6 = /^[0-9a-fA-F:]{2,39}$/;

/** Parses "ADDRESS/PREFIX"; returns why it is not one instead of throwing. */
export function parseVipAddress(text: string): VipAddress | { error: string } {
  const slash = text.indexOf("/");
  if (slash < 0) return { error: `VIP "${text}" has no prefix length: write ADDRESS/PREFIX, e.g. 10.0.0.100/24` };
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return { error: `VIP "${text}": prefix length "${prefixText}" is not a number` };
  const prefix = Number(prefixText);
  if (IPV4.test(address)) {
    if (prefix < 1 || prefix > 32) return { error: `VIP "${text}": an IPv4 prefix length is 1–32` };
    return { address, prefix, family: 4, cidr: `${address}/${prefix}` };
  }
  if (IPV6.test(address) && address.includes(":") && (address.match(/::/g) ?? []).length <= 1) {
    if (prefix < 1 || prefix > 128) return { error: `VIP "${text}": an IPv6 prefix length is 1–128` };
    return { address: address.toLowerCase(), prefix, family: 6, cidr: `${address.toLowerCase()}/${prefix}` };
  }
  return { error: `VIP "${text}": "${address}" is neither an IPv4 nor an IPv6 address` };
}
