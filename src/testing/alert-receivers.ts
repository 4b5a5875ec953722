// Test receivers for the alert channels: an HTTP webhook receiver that can be told to fail, hang
// or succeed. Used by the tests beside this file only.
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What the receiver does with the next request. */
export type ReceiverMode = "ok" | "fail" | "hang";

/** A webhook receiver on an ephemeral port, recording every request body. */
export class WebhookReceiver {
  readonly bodies: unknown[] = [];
  /** Requests seen, failed or not. */
  attempts = 0;
  /** Answers for the next requests, first first; then `fallback`. */
  readonly script: ReceiverMode[] = [];
  fallback: ReceiverMode = "ok";
  private readonly hanging = new Set<ServerResponse>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | null = null;
    const server = createServer((req, res) => void receiver?.handle(req, res));
    receiver = new WebhookReceiver(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.attempts++;
    const mode = this.script.shift() ?? this.fallback;
    let text = "";
    for await (const chunk of req) text += String(chunk);
    if (mode === "hang") return void this.hanging.add(res);
    if (mode === "fail") {
      res.writeHead(503).end("receiver down for the test");
      return;
    }
    this.bodies.push(JSON.parse(text));
    res.writeHead(200).end("ok");
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
