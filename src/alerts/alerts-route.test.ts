// `POST /v3/phalanx/alerts/test` on a real node (startNode with an `alerts:` config) and the
// `phalanx alerts test` command against it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildProgram } from "../cli/program.js";
import { call, startApiNode } from "../testing/api-testing.js";
import { WebhookReceiver } from "../testing/alert-receivers.js";

test("the alerts test route refuses the client token and sends through every channel with the admin token", async (t) => {
  const receiver = await WebhookReceiver.start();
  t.after(() => receiver.close());
  const scripts = await mkdtemp(join(tmpdir(), "phalanx-alert-route-"));
  t.after(() => rm(scripts, { recursive: true, force: true }));
  const failing = join(scripts, "fail.sh");
  await writeFile(failing, "#!/bin/sh\necho \"no pager today\" >&2\nexit 1\n");
  await chmod(failing, 0o755);
  const api = await startApiNode({ alerts: { channels: [{ type: "webhook", name: "hook", url: receiver.url }, { type: "exec", name: "pager", command: failing }] } });
  t.after(() => api.close());

  const refused = await call(api.baseUrl, "POST", "/v3/phalanx/alerts/test", { token: api.clientToken, body: {} });
  assert.equal(refused.status, 403, refused.text);
  assert.equal(receiver.attempts, 0);

  const answer = await call(api.baseUrl, "POST", "/v3/phalanx/alerts/test", { token: api.adminToken, body: {} });
  assert.equal(answer.status, 200, answer.text);
  const results = answer.json?.results as { channel: string; ok: boolean; error?: string }[];
  assert.deepEqual(results.map((r) => [r.channel, r.ok]), [["hook", true], ["pager", false]]);
  assert.match(results[1]!.error ?? "", /exited with code 1: no pager today/);
  const body = receiver.bodies[0] as { alerts: { labels: Record<string, string> }[] };
  assert.equal(body.alerts[0]!.labels.alertname, "PhalanxTestAlert");

  // The CLI prints one row per channel and exits 1 because a channel failed.
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  try {
    await buildProgram().parseAsync(["node", "phalanx", "alerts", "test", "--endpoints", api.baseUrl.replace("http://", ""), "--admin-token", api.adminToken]);
  } finally {
    process.stdout.write = write;
  }
  const printed = out.join("");
  assert.match(printed, /hook\s+webhook\s+delivered/);
  assert.match(printed, /pager\s+exec\s+FAILED/);
  assert.equal(process.exitCode, 1);
  process.exitCode = 0;
  assert.equal(receiver.bodies.length, 2);
});
