// Each channel against a real receiver: an HTTP server (Alertmanager webhook JSON), a script that
// writes its environment to a file (exec), and smtp-server with STARTTLS and AUTH (e-mail).
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SMTPServer } from "smtp-server";
import type { AddressInfo } from "node:net";
import { createClusterCa } from "../pki/ca.js";
import { issueNodeCertificate } from "../pki/issue.js";
import { DeliveryError, sendWithTimeout } from "./channel.js";
import { firingAlert, resolvedAlert } from "./core/model.js";
import { execChannel } from "./exec.js";
import { smtpChannel } from "./smtp.js";
import { WebhookReceiver } from "../testing/alert-receivers.js";
import { webhookChannel } from "./webhook.js";

const alert = firingAlert({ name: "PhalanxNodeDown", severity: "critical", labels: { node: "2" }, summary: "Node 2 is down", description: "The leader has not reached node 2 for 5 s" }, Date.parse("2026-01-02T03:04:05.000Z"), { cluster: "c1" });

test("the webhook channel POSTs an Alertmanager version 4 body", async (t) => {
  const receiver = await WebhookReceiver.start();
  t.after(() => receiver.close());
  const channel = webhookChannel({ type: "webhook", name: "ops-hook", url: receiver.url, headers: { authorization: "Bearer x" } }, "https://dash.example/");
  await sendWithTimeout(channel, resolvedAlert(alert, Date.parse("2026-01-02T03:05:00.000Z")), 5000);
  assert.equal(receiver.bodies.length, 1);
  const body = receiver.bodies[0] as Record<string, unknown>;
  assert.equal(body.version, "4");
  assert.equal(body.status, "resolved");
  assert.equal(body.receiver, "ops-hook");
  assert.deepEqual(body.groupLabels, { alertname: "PhalanxNodeDown" });
  assert.deepEqual(body.commonLabels, { cluster: "c1", node: "2", alertname: "PhalanxNodeDown", severity: "critical" });
  assert.equal((body.commonAnnotations as Record<string, string>).summary, "Node 2 is down");
  assert.equal(body.externalURL, "https://dash.example/");
  const [a] = body.alerts as Record<string, unknown>[];
  assert.deepEqual(Object.keys(a!).sort(), ["annotations", "endsAt", "fingerprint", "generatorURL", "labels", "startsAt", "status"]);
  assert.equal(a!.startsAt, "2026-01-02T03:04:05.000Z");
  assert.equal(a!.endsAt, "2026-01-02T03:05:00.000Z");
  assert.equal(a!.fingerprint, alert.fingerprint);
});

test("the webhook channel fails on a non-2xx answer and times out on a receiver that never answers", async (t) => {
  const receiver = await WebhookReceiver.start();
  t.after(() => receiver.close());
  const channel = webhookChannel({ type: "webhook", name: "w", url: receiver.url, headers: {} }, "");
  receiver.script.push("fail", "hang");
  await assert.rejects(sendWithTimeout(channel, alert, 5000), (e: unknown) => e instanceof DeliveryError && e.code === "refused" && /answered 503/.test(e.message));
  await assert.rejects(sendWithTimeout(channel, alert, 200), (e: unknown) => e instanceof DeliveryError && e.code === "timeout");
});

test("the exec channel runs the command with the alert in PHALANX_ALERT_* variables; a non-zero exit fails", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-alert-exec-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const script = join(dir, "agent.sh");
  const out = join(dir, "env.txt");
  await writeFile(script, `#!/bin/sh\nenv | grep '^PHALANX_ALERT_' > "$1"\n[ "$PHALANX_ALERT_STATUS" = firing ] || { echo "refusing $PHALANX_ALERT_STATUS" >&2; exit 3; }\n`);
  await chmod(script, 0o755);
  const channel = execChannel({ name: "pager", command: script, args: [out] });
  await sendWithTimeout(channel, alert, 5000);
  const env = Object.fromEntries((await readFile(out, "utf8")).trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
  assert.equal(env.PHALANX_ALERT_NAME, "PhalanxNodeDown");
  assert.equal(env.PHALANX_ALERT_STATUS, "firing");
  assert.equal(env.PHALANX_ALERT_SEVERITY, "critical");
  assert.equal(env.PHALANX_ALERT_FINGERPRINT, alert.fingerprint);
  assert.equal(env.PHALANX_ALERT_SUMMARY, "Node 2 is down");
  assert.equal(env.PHALANX_ALERT_NODE, "2");
  assert.equal(env.PHALANX_ALERT_STARTS_AT, "2026-01-02T03:04:05.000Z");
  assert.deepEqual(JSON.parse(env.PHALANX_ALERT_LABELS!), alert.labels);
  await assert.rejects(sendWithTimeout(channel, resolvedAlert(alert, Date.now()), 5000), (e: unknown) => e instanceof DeliveryError && /exited with code 3: refusing resolved/.test(e.message));
});

test("the exec channel kills a command that overruns its deadline", async () => {
  const channel = execChannel({ name: "slow", command: "/bin/sleep", args: ["30"] });
  await assert.rejects(sendWithTimeout(channel, alert, 200), (e: unknown) => e instanceof DeliveryError && e.code === "timeout");
});

test("the SMTP channel sends over STARTTLS with AUTH and the mail arrives", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-alert-smtp-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ca = await createClusterCa({ clusterId: "smtp-test" });
  const cert = await issueNodeCertificate(ca, { nodeId: 1, hostnames: ["localhost"], ips: ["127.0.0.1"] });
  await writeFile(join(dir, "ca.pem"), ca.certPem);
  await writeFile(join(dir, "password"), "s3cret\n");
  const received: { from: string; to: string[]; data: string; user: string; method: string; secure: boolean }[] = [];
  const server = new SMTPServer({
    key: cert.keyPem, cert: cert.certPem, authMethods: ["PLAIN", "LOGIN"], logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === "alerts" && auth.password === "s3cret") return cb(null, { user: `${auth.username}:${auth.method}` });
      cb(new Error("Invalid username or password"));
    },
    onData(stream, session, cb) {
      let data = "";
      stream.setEncoding("utf8");
      stream.on("data", (c: string) => (data += c));
      stream.on("end", () => {
        const [user = "", method = ""] = String(session.user).split(":");
        received.push({ from: session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address), data, user, method, secure: session.secure });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.server.address() as AddressInfo).port;
  for (const method of ["PLAIN", "LOGIN"] as const) {
    const channel = await smtpChannel({ type: "smtp", name: "mail", host: "127.0.0.1", port, tls: "starttls", caFile: join(dir, "ca.pem"),
      auth: { user: "alerts", passwordFile: join(dir, "password"), method }, from: "phalanx@example.com", to: ["ops@example.com", "oncall@example.com"] }, 5000);
    await sendWithTimeout(channel, alert, 10_000);
  }
  assert.equal(received.length, 2);
  for (const [i, m] of received.entries()) {
    assert.equal(m.secure, true, "upgraded with STARTTLS");
    assert.equal(m.user, "alerts");
    assert.equal(m.method, i === 0 ? "PLAIN" : "LOGIN");
    assert.equal(m.from, "phalanx@example.com");
    assert.deepEqual(m.to, ["ops@example.com", "oncall@example.com"]);
    assert.match(m.data, /Subject: \[FIRING CRITICAL\] Node 2 is down/);
    assert.match(m.data, new RegExp(`X-Phalanx-Fingerprint: ${alert.fingerprint}`));
  }
  const wrong = await smtpChannel({ type: "smtp", name: "mail", host: "127.0.0.1", port, tls: "starttls", caFile: join(dir, "ca.pem"),
    auth: { user: "alerts", password: "wrong" }, from: "phalanx@example.com", to: ["ops@example.com"] }, 5000);
  await assert.rejects(sendWithTimeout(wrong, alert, 10_000), (e: unknown) => e instanceof DeliveryError && e.code === "refused");
  assert.equal(received.length, 2);
});
