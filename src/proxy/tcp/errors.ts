// I/O failures of the TCP frontend, one class per condition, each wrapping its cause.

/** The frontend could not bind its listen address (port in use, permission, bad address). */
export class TcpListenError extends Error {
  override readonly name = "TcpListenError";
  readonly code = "listen_failed";

  constructor(frontend: string, address: string, cause: unknown) {
    super(`Cannot listen for frontend ${frontend}: ${address} failed with ${describe(cause)}`, { cause });
  }
}

/** Every backend tried for one client connection refused or timed out. */
export class TcpConnectError extends Error {
  override readonly name = "TcpConnectError";
  readonly code = "connect_failed";

  constructor(backendId: string, address: string, cause: unknown) {
    super(`Cannot connect to backend ${backendId}: ${address} failed with ${describe(cause)}`, { cause });
  }
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code ?? cause.message;
  }
  return String(cause);
}
