// The shell of active health checking: probes one backend every interval (http: GET a path and
// expect a status; tcp: connect) and reports each result. The up/down decision is decideActive's.
import { request } from "node:http";
import { connect } from "node:net";
import { isHealthyStatus, type HealthCheckSpec } from "../../config/health.js";
import type { BackendEndpoint } from "../types.js";

/** A running check; stop() cancels the next probe and ignores the one in progress. */
export interface ActiveCheck {
  stop(): void;
}

/** Runs one probe; resolves with ok and a short detail for logs. Never rejects. */
export function probe(spec: HealthCheckSpec, target: BackendEndpoint): Promise<{ ok: boolean; detail: string }> {
  const port = spec.port ?? target.port;
  return spec.type === "http" ? probeHttp(spec, target.host, port) : probeTcp(target.host, port, spec.timeoutMs);
}

/** Starts probing at once, then every intervalMs after each probe ends. */
export function startActiveCheck(
  spec: HealthCheckSpec,
  target: BackendEndpoint,
  onResult: (ok: boolean, detail: string) => void,
): ActiveCheck {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const run = (): void => {
    timer = null;
    void probe(spec, target).then((r) => {
      if (stopped) return;
      onResult(r.ok, r.detail);
      timer = setTimeout(run, spec.intervalMs);
      timer.unref();
    });
  };
  run();
  return {
    stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
    },
  };
}

function probeHttp(spec: Extract<HealthCheckSpec, { type: "http" }>, host: string, port: number): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (ok: boolean, detail: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ ok, detail });
    };
    const hostHeader = spec.host ?? (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);
    const req = request({ host, port, path: spec.path, method: "GET", agent: false, headers: { host: hostHeader, connection: "close", "user-agent": "phalanx-health" } }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      settle(isHealthyStatus(spec, status), `HTTP ${status}`);
    });
    req.on("error", (err) => settle(false, err.message));
    const timer = setTimeout(() => settle(false, `no response within ${spec.timeoutMs} ms`), spec.timeoutMs);
    req.end();
  });
}

function probeTcp(host: string, port: number, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const settle = (ok: boolean, detail: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok, detail });
    };
    socket.once("connect", () => settle(true, "connected"));
    socket.once("error", (err) => settle(false, err.message));
    const timer = setTimeout(() => settle(false, `no connection within ${timeoutMs} ms`), timeoutMs);
  });
}
