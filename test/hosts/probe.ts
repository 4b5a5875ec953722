// Drives a netprobe.mjs process inside a node: an echo server other nodes can probe, and a client
// that probes them. Each command carries its own deadline, and the harness side adds a margin so
// a probe that is itself frozen or dead fails the call instead of hanging the test.
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { HostNet, NodeProcess } from "./harness.js";

/** The port every probe listens on; each node has its own IP stack, so one port never collides. */
export const PROBE_PORT = 7000;
/** Longest a probe may take to start listening. */
export const PROBE_START_DEADLINE_MS = 15_000;
/** Added to a command's own deadline before the harness gives up on the probe process. */
const ANSWER_MARGIN_MS = 5_000;
const NETPROBE = fileURLToPath(new URL("./netprobe.mjs", import.meta.url));

/** The outcome of one probe: served (with the time it took) or not (and why). */
export type ProbeResult = { ok: true; ms: number } | { ok: false; error: string };

type Answer = { id: number; ok: boolean; [key: string]: unknown };

export class Prober {
  private nextId = 1;
  private readonly pending = new Map<number, (answer: Answer) => void>();
  private exitError: Error | null = null;

  private constructor(readonly process: NodeProcess) {}

  /** Starts a probe on node `name` and waits until it listens (on PROBE_PORT). */
  static async start(net: HostNet, name: string, port = PROBE_PORT): Promise<Prober> {
    const proc = net.spawn(name, process.execPath, [NETPROBE, String(port)]);
    const prober = new Prober(proc);
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Probe on ${name} did not listen within ${PROBE_START_DEADLINE_MS} ms; output: ${proc.output()}`)), PROBE_START_DEADLINE_MS);
      const lines = createInterface({ input: proc.child.stdout! });
      lines.on("line", (line) => {
        const msg = JSON.parse(line) as { event?: string } & Answer;
        if (msg.event === "ready") {
          clearTimeout(timer);
          resolve();
          return;
        }
        const settle = prober.pending.get(msg.id);
        prober.pending.delete(msg.id);
        settle?.(msg);
      });
      void proc.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        prober.exitError = new Error(`Probe on ${name} exited (code ${code}, signal ${signal}); output: ${proc.output()}`);
        reject(prober.exitError);
        for (const settle of prober.pending.values()) settle({ id: -1, ok: false, error: prober.exitError.message });
        prober.pending.clear();
      });
    });
    await ready;
    return prober;
  }

  /** The node this probe runs on. */
  get node(): string {
    return this.process.node.name;
  }

  private ask(op: string, args: Record<string, unknown>, deadlineMs: number): Promise<Answer> {
    if (this.exitError !== null) return Promise.reject(this.exitError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`Probe on ${this.node} did not answer ${op} within ${deadlineMs + ANSWER_MARGIN_MS} ms (frozen or stuck?)`));
      }, deadlineMs + ANSWER_MARGIN_MS);
      this.pending.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      this.process.child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  private static result(answer: Answer): ProbeResult {
    return answer.ok ? { ok: true, ms: Number(answer["ms"]) } : { ok: false, error: String(answer["error"]) };
  }

  /** One UDP request to `to`'s probe, resent every 100 ms until echoed or `timeoutMs` passed. */
  async udpEcho(to: string, timeoutMs: number, port = PROBE_PORT): Promise<ProbeResult> {
    return Prober.result(await this.ask("udpEcho", { to, port, timeoutMs }, timeoutMs));
  }

  /** A TCP connection to `to`'s probe that must echo a line within `timeoutMs`. */
  async tcpEcho(to: string, timeoutMs: number, port = PROBE_PORT): Promise<ProbeResult> {
    return Prober.result(await this.ask("tcpEcho", { to, port, timeoutMs }, timeoutMs));
  }

  /** Sends `count` datagrams once each and counts the echoes back within `waitMs`. */
  async udpCount(to: string, count: number, waitMs: number, port = PROBE_PORT): Promise<number> {
    const answer = await this.ask("udpCount", { to, port, count, waitMs }, waitMs);
    return Number(answer["echoed"]);
  }

  /** Sends `payload` to `to`'s probe `copies` times, 50 ms apart (no answer expected). */
  async udpSend(to: string, payload: string, copies = 3, port = PROBE_PORT): Promise<void> {
    await this.ask("udpSend", { to, port, payload, copies, intervalMs: 50 }, copies * 50);
  }

  /**
   * An HTTP request made from this probe's node (the test process cannot reach the hosts itself):
   * the status and body (first 64 KiB), or why there was no response within `timeoutMs`.
   */
  async http(url: string, timeoutMs: number, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ ok: true; status: number; body: string } | { ok: false; error: string }> {
    const answer = await this.ask("http", { url, timeoutMs, ...init }, timeoutMs);
    return answer.ok ? { ok: true, status: Number(answer["status"]), body: String(answer["body"]) } : { ok: false, error: String(answer["error"]) };
  }

  /** Whether this probe received datagram `payload` (now or within `timeoutMs`). */
  async received(payload: string, timeoutMs: number): Promise<boolean> {
    return (await this.ask("waitReceived", { payload, timeoutMs }, timeoutMs)).ok;
  }
}
