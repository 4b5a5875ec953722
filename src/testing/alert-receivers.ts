// Test receivers for the alert channels: an HTTP webhook receiver that can be told to fail, hang
// or succeed, and an SMTP server (npm smtp-server) with STARTTLS and AUTH. Used by tests only.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createServer } from "node:http";
import { SMTPServer } from "smtp-server";
import { createClusterCa } from "../pki/ca.js";
import { issueNodeCertificate } from "../pki/issue.js";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What the receiver does with the next request. */
export type ReceiverMode = "ok" | "fail" | "hang";

/** A webhook receiver on an ephemeral port, recording every request body. */
export class WebhookReceiver {
  readonly bodies: unknown[] = [];
  /** Wall-clock ms at which each of `bodies` arrived. */
  readonly receivedAtMs: number[] = [];
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
    this.receivedAtMs.push(Date.now());
    res.writeHead(200).end("ok");
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** One mail the SMTP receiver accepted. */
export interface ReceivedMail {
  readonly data: string;
  readonly user: string;
  readonly secure: boolean;
  readonly receivedAtMs: number;
}

/**
 * An SMTP server on an ephemeral port that requires STARTTLS (certificate of a throw-away CA written
 * to `dir`/smtp-ca.pem) and AUTH (user "alerts", password in `dir`/smtp-password).
 */
export class SmtpReceiver {
  readonly mails: ReceivedMail[] = [];

  private constructor(private readonly server: SMTPServer, private readonly dir: string) {}

  static async start(dir: string): Promise<SmtpReceiver> {
    const ca = await createClusterCa({ clusterId: "smtp-test" });
    const cert = await issueNodeCertificate(ca, { nodeId: 1, hostnames: ["localhost"], ips: ["127.0.0.1"] });
    await writeFile(join(dir, "smtp-ca.pem"), ca.certPem);
    await writeFile(join(dir, "smtp-password"), "s3cret\n");
    let receiver: SmtpReceiver | null = null;
    const server = new SMTPServer({
      key: cert.keyPem, cert: cert.certPem, authMethods: ["PLAIN", "LOGIN"], logger: false,
      onAuth(auth, _session, cb) {
        if (auth.username === "alerts" && auth.password === "s3cret") return cb(null, { user: auth.username });
        cb(new Error("Invalid username or password"));
      },
      onData(stream, session, cb) {
        let data = "";
        stream.setEncoding("utf8");
        stream.on("data", (c: string) => (data += c));
        stream.on("end", () => {
          receiver?.mails.push({ data, user: String(session.user), secure: session.secure, receivedAtMs: Date.now() });
          cb();
        });
      },
    });
    receiver = new SmtpReceiver(server, dir);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    return receiver;
  }

  get port(): number {
    return (this.server.server.address() as AddressInfo).port;
  }

  /** An smtp channel of a node config that sends here with STARTTLS and AUTH. */
  channel(name: string): { type: "smtp"; name: string; host: string; port: number; tls: "starttls"; caFile: string; auth: { user: string; passwordFile: string }; from: string; to: string[] } {
    return { type: "smtp", name, host: "127.0.0.1", port: this.port, tls: "starttls", caFile: join(this.dir, "smtp-ca.pem"),
      auth: { user: "alerts", passwordFile: join(this.dir, "smtp-password") }, from: "phalanx@example.com", to: ["ops@example.com"] };
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
