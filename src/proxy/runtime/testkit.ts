// Helpers for the runtime's integration tests: in-process and child-process HTTP backends, a
// keep-alive load generator and polling with a deadline. Not used by production code.
import { spawn, type ChildProcess } from "node:child_process";
import { Agent, createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";

/** A backend that answers every request with its name. */
export interface TestBackend {
  readonly name: string;
  readonly port: number;
  /** Requests it has answered. */
  readonly served: () => number;
  close(): Promise<void>;
}

/** Starts an in-process HTTP backend answering `name` (after `delayMs`, to keep requests in flight). */
export async function startBackend(name: string, delayMs = 0): Promise<TestBackend> {
  let served = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const reply = (): void => {
        served += 1;
        res.writeHead(200, { "content-type": "text/plain" }).end(name);
      };
      if (delayMs > 0) setTimeout(reply, delayMs);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    served: () => served,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** Script of a child-process backend: answers its name after a short delay, prints its port. */
const CHILD_BACKEND = `
const http = require("node:http");
const name = process.argv[1];
const delayMs = Number(process.argv[2]);
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => setTimeout(() => res.writeHead(200, { "content-type": "text/plain" }).end(name), delayMs));
});
server.listen(0, "127.0.0.1", () => console.log(String(server.address().port)));
`;

/** A backend in its own process, so that a test can kill -9 it. */
export interface ChildBackend {
  readonly name: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Resolves once the process has exited (killed or not). */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Spawns a `node -e` backend and waits for it to listen. */
export async function spawnBackend(name: string, delayMs: number): Promise<ChildBackend> {
  const child = spawn(process.execPath, ["-e", CHILD_BACKEND, name, String(delayMs)], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", (line) => resolve(Number(line)));
    child.once("exit", (code) => reject(new Error(`Backend ${name} exited with ${code} before listening`)));
  });
  return {
    name,
    port,
    child,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** One request's outcome under load. */
export interface LoadResult {
  readonly method: "GET" | "POST";
  readonly status: number | null;
  readonly body: string;
  readonly error: string | null;
}

/** A running load: `stop()` waits for the requests in flight and returns every outcome. */
export interface Load {
  stop(): Promise<LoadResult[]>;
  /** Completed requests so far. */
  count(): number;
}

/** Bound on outcomes kept by one load run. */
const MAX_LOAD_RESULTS = 200_000;

/** Sends requests from `concurrency` keep-alive clients in a loop; every `postEvery`-th is a POST. */
export function startLoad(port: number, options: { concurrency: number; postEvery?: number }): Load {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const results: LoadResult[] = [];
  let running = true;
  let n = 0;
  const one = (): Promise<LoadResult> => {
    n += 1;
    const method = options.postEvery !== undefined && n % options.postEvery === 0 ? "POST" : "GET";
    return new Promise((resolve) => {
      const req = request({ host: "127.0.0.1", port, path: `/r${n}`, method, agent }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ method, status: res.statusCode ?? 0, body, error: null }));
        res.on("error", (err) => resolve({ method, status: null, body, error: err.message }));
      });
      req.on("error", (err) => resolve({ method, status: null, body: "", error: err.message }));
      req.end(method === "POST" ? "payload" : undefined);
    });
  };
  const worker = async (): Promise<void> => {
    while (running && results.length < MAX_LOAD_RESULTS) results.push(await one());
  };
  const workers = Array.from({ length: options.concurrency }, () => worker());
  return {
    count: () => results.length,
    stop: async () => {
      running = false;
      await Promise.all(workers);
      agent.destroy();
      return results;
    },
  };
}

/** Polls `cond` until it holds or `timeoutMs` passes (then throws naming `what`). */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
