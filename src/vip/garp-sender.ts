// A resident sender of gratuitous ARPs: one small helper process per virtual IP, started while the
// node is still a standby, that keeps a raw (AF_PACKET) socket open on the interface and sends one
// gratuitous ARP per line it reads. Why: a takeover's last step is the announcement, and exec'ing
// `arping` costs its whole start-up (libpcap/libnet set-up: 40-60 ms here, more on a loaded host)
// before its packet leaves; the resident helper sends within a millisecond of being asked. Node
// cannot open AF_PACKET sockets, so the helper is Python 3's standard library; without python3
// (or if the helper dies) VipOwner falls back to arping. IPv4 only (IPv6 announces with unsolicited-na.ts).
//
// Protocol: stdin "announce\n" → stdout "sent\n" or "error MESSAGE\n"; "ready\n" once the socket is open.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

/** Longest the helper may take to open its socket, and to answer one announcement. */
export const GARP_SENDER_TIMEOUT_MS = 5_000;

/**
 * The helper: a broadcast ARP request with sender = target = the VIP and the interface's MAC (what
 * `arping -U` sends), padded to Ethernet's 60-byte minimum. Linux neighbours update an existing
 * entry on it even within their ARP locktime (it is a gratuitous ARP).
 */
export const GARP_SENDER_SCRIPT = `
import socket, struct, sys
dev, ip = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind((dev, 0x0806))
mac = s.getsockname()[4]
addr = socket.inet_aton(ip)
frame = b"\\xff" * 6 + mac + struct.pack("!HHHBBH", 0x0806, 1, 0x0800, 6, 4, 1) + mac + addr + b"\\x00" * 6 + addr
frame += b"\\x00" * (60 - len(frame))
sys.stdout.write("ready\\n")
sys.stdout.flush()
for line in sys.stdin:
    try:
        s.send(frame)
        sys.stdout.write("sent\\n")
    except OSError as e:
        sys.stdout.write("error %s\\n" % e)
    sys.stdout.flush()
`;

export interface GarpSenderOptions {
  readonly interfaceName: string;
  readonly address: string;
  /** The command line to run (tests enter a namespace with `ip netns exec`); default python3 -c SCRIPT DEV ADDR. */
  readonly command?: { readonly cmd: string; readonly args: readonly string[] };
}

/** One resident helper. start() once; announce() as often as needed; close() at the end. */
export class GarpSender {
  private child: ChildProcess | null = null;
  private ready: Promise<boolean> | null = null;
  private readonly waiting: ((line: string) => void)[] = [];
  private dead = false;

  constructor(private readonly o: GarpSenderOptions) {}

  /** Starts the helper; resolves false (never rejects) when it cannot run here (no python3, no raw socket). */
  start(): Promise<boolean> {
    if (this.ready !== null) return this.ready;
    const command = this.o.command ?? { cmd: "python3", args: ["-c", GARP_SENDER_SCRIPT, this.o.interfaceName, this.o.address] };
    this.ready = new Promise<boolean>((resolve) => {
      let child: ChildProcess;
      try {
        child = spawn(command.cmd, [...command.args], { stdio: ["pipe", "pipe", "ignore"] });
      } catch {
        this.dead = true;
        return resolve(false);
      }
      this.child = child;
      child.unref();
      child.stdin?.on("error", () => undefined);
      const timer = setTimeout(() => {
        this.stop();
        resolve(false);
      }, GARP_SENDER_TIMEOUT_MS);
      timer.unref();
      child.once("error", () => {
        clearTimeout(timer);
        this.stop();
        resolve(false);
      });
      child.once("exit", () => {
        clearTimeout(timer);
        this.dead = true;
        for (const w of this.waiting.splice(0)) w("error helper exited");
        resolve(false);
      });
      createInterface({ input: child.stdout! }).on("line", (line) => {
        if (line === "ready") {
          clearTimeout(timer);
          resolve(true);
          return;
        }
        this.waiting.shift()?.(line);
      });
    });
    return this.ready;
  }

  /** Whether the helper runs and may be asked (false: announce with arping instead). */
  get usable(): boolean {
    return this.child !== null && !this.dead;
  }

  /** Sends one gratuitous ARP; rejects with why not (the caller falls back to arping). */
  async announce(): Promise<void> {
    if (!(await (this.ready ?? this.start())) || !this.usable) throw new Error("the gratuitous ARP helper is not running");
    const line = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(done);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(`error no answer within ${GARP_SENDER_TIMEOUT_MS} ms`);
      }, GARP_SENDER_TIMEOUT_MS);
      const done = (l: string): void => {
        clearTimeout(timer);
        resolve(l);
      };
      this.waiting.push(done);
      this.child?.stdin?.write("announce\n");
    });
    if (line !== "sent") throw new Error(`the gratuitous ARP helper failed: ${line.replace(/^error /, "")}`);
  }

  /** Ends the helper. */
  close(): void {
    this.stop();
  }

  private stop(): void {
    this.dead = true;
    const child = this.child;
    if (child === null) return;
    child.stdin?.end();
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
  }
}
