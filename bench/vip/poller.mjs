// Runs in the client's namespace: GETs http://<VIP>:8080/ back to back (each with its own short
// timeout, a new connection each time) and prints one JSON line {t, by} each time the answer
// changes — `by` is the serving host's eth0 address, or null when nothing answered. `t` is
// Date.now(): the bench compares it with the time it killed a holder (same machine clock).
import { request } from "node:http";

const [vip, timeoutText] = process.argv.slice(2);
const TIMEOUT_MS = Number(timeoutText ?? 150);
let last;
const report = (by) => {
  if (by === last) return;
  last = by;
  process.stdout.write(`${JSON.stringify({ t: Date.now(), by })}\n`);
};
const once = () => new Promise((resolve) => {
  const req = request({ host: vip, port: 8080, path: "/", agent: false, timeout: TIMEOUT_MS }, (res) => {
    let body = "";
    res.on("data", (c) => (body += c));
    res.on("end", () => resolve(body.trim()));
    res.on("error", () => resolve(null));
  });
  req.on("timeout", () => req.destroy(new Error("timeout")));
  req.on("error", () => resolve(null));
  req.end();
});
for (;;) {
  const by = await once();
  report(by);
  // A refused or unreachable attempt returns at once: pace those so the loop does not spin.
  if (by === null) await new Promise((r) => setTimeout(r, 10));
}
