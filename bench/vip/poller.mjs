// Runs in the client's namespace: GETs http://<VIP>:8080/ (a new connection each, each with its own
// short timeout) started every SPACING ms, overlapping, and prints one JSON line {t, by} each time
// the answer changes — `by` is the serving host's eth0 address, or null when nothing answered; `t`
// is Date.now() when the answer came (the bench compares it with the time it killed a holder; same
// machine clock).
//
// Why overlapping probes: a request sent while no host holds the VIP (or to a MAC that no longer
// has it) is lost and only ends at its timeout. Back-to-back probes would then report the VIP as
// served up to one timeout after it is; a probe started every SPACING ms measures when the address
// serves again to within SPACING, for Keepalived and Phalanx alike. Answers are reported in the
// order the probes started (a late timeout of an older probe never overwrites a newer answer).
import { request } from "node:http";

const [vip, timeoutText, spacingText] = process.argv.slice(2);
const TIMEOUT_MS = Number(timeoutText ?? 150);
const SPACING_MS = Number(spacingText ?? 10);
/** Bound on probes in flight: one timeout's worth at the spacing, plus one. */
const MAX_IN_FLIGHT = Math.ceil(TIMEOUT_MS / SPACING_MS) + 1;
let last;
let lastReportedSeq = -1;
let nextSeq = 0;
let inFlight = 0;
const report = (seq, by) => {
  if (seq < lastReportedSeq) return;
  lastReportedSeq = seq;
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
const probe = () => {
  if (inFlight >= MAX_IN_FLIGHT) return;
  const seq = nextSeq++;
  inFlight++;
  void once().then((by) => {
    inFlight--;
    report(seq, by);
  });
};
setInterval(probe, SPACING_MS);
probe();
