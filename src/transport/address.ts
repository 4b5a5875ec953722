// Peer addresses are "host:port", with IPv6 hosts in brackets: "[::1]:7000".

/** A parsed peer address. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses "host:port" or "[v6]:port"; throws on anything else. */
export function parseHostPort(address: string): HostPort {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || !(port > 0 && port < 65536)) {
    throw new Error(`Invalid peer address "${address}": expected host:port or [ipv6]:port`);
  }
  return { host: (match[1] ?? match[2]) as string, port };
}

/** Formats a host and port as an address string. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
