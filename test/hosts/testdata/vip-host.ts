// Runs inside one host's namespace (HostNet.spawn): a tiny HTTP server on VIP_HTTP_PORT that answers
// with this host's name, and a VipFollower (with its VipOwner on eth0) driven over stdin, one JSON
// command a line, each answered with one JSON line {id, ok, ...}:
//   {"id":1,"cmd":"role","holder":true,"fenceInMs":60000}  the store's view: holder or not, fencing point
//   {"id":2,"cmd":"held"}                                    is the address on eth0 now (kernel)
//   {"id":3,"cmd":"acquire"} / {"cmd":"release"}             raw VipOwner calls (for the planted bug)
//   {"id":4,"cmd":"reannounce"}
//   {"id":5,"cmd":"watchdog"}                                the VipWatchdog's pid
// argv: <host name> <VIP cidr>
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { pino } from "pino";
import { parseVipAddress } from "../../../src/vip/core/address.js";
import { DEFAULT_VIP_PARAMS } from "../../../src/vip/core/decide.js";
import { VipFollower } from "../../../src/vip/vip-follower.js";
import { VipOwner } from "../../../src/vip/vip-owner.js";
import { VipWatchdog } from "../../../src/vip/vip-watchdog.js";

export const VIP_HTTP_PORT = 8080;
const [name, cidr] = process.argv.slice(2);
if (name === undefined || cidr === undefined) throw new Error("usage: vip-host.ts <host name> <VIP cidr>");
const vip = parseVipAddress(cidr);
if ("error" in vip) throw new Error(vip.error);

const nowMs = (): number => performance.now();
const owner = new VipOwner({ vip, interfaceName: "eth0" });
const logger = pino({ level: "warn" }, process.stderr);
const watchdog = new VipWatchdog(vip, "eth0", logger);
const follower = new VipFollower({ owner, params: DEFAULT_VIP_PARAMS, nowMs, logger, watchdog });
const reply = (msg: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(msg)}\n`);

const server = createServer((_req, res) => res.end(name));
// "::" takes IPv4 too (dual stack): the same host serves an IPv4 or an IPv6 VIP.
server.listen(VIP_HTTP_PORT, "::", () => reply({ event: "ready" }));

createInterface({ input: process.stdin }).on("line", (line) => {
  const m = JSON.parse(line) as { id: number; cmd: string; holder?: boolean; fenceInMs?: number | null };
  const done = (p: Promise<unknown>): void => void p.then((value) => reply({ id: m.id, ok: true, value }), (err: Error) => reply({ id: m.id, ok: false, error: err.message }));
  switch (m.cmd) {
    case "role":
      follower.update({ holder: m.holder === true, fenceAtMs: m.fenceInMs === null || m.fenceInMs === undefined ? null : nowMs() + m.fenceInMs });
      return reply({ id: m.id, ok: true });
    case "reannounce":
      follower.reannounce();
      return reply({ id: m.id, ok: true });
    case "watchdog": return reply({ id: m.id, ok: true, value: watchdog.pid });
    case "held": return done(owner.isHeld());
    case "acquire": return done(owner.acquire());
    case "release": return done(owner.release());
    default: return reply({ id: m.id, ok: false, error: `unknown command ${m.cmd}` });
  }
});
process.stdin.on("end", () => void follower.close().finally(() => {
  watchdog.close();
  process.exit(0);
}));
