// The `alerts:` section of a node config: defaults, and precise errors naming the field.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../config/errors.js";
import { loadNodeConfig } from "../server/node-config.js";
import { writeApiNodeFiles } from "../testing/api-testing.js";
import { alertsConfigSchema, DEFAULT_DELIVERY } from "./config.js";

test("an empty alerts section has no channels and the documented defaults", () => {
  const c = alertsConfigSchema.parse({});
  assert.deepEqual(c.channels, []);
  assert.equal(c.delivery.timeoutMs, DEFAULT_DELIVERY.timeoutMs);
  assert.equal(c.thresholds.nodeDownAfterMs, 5000);
});

test("a node config with a bad alerts section is refused with the field and the fix", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-alerts-config-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { configFile } = await writeApiNodeFiles(dir, {
    alerts: { channels: [
      { type: "webhook", name: "ops", url: "ftp://example.com/x" },
      { type: "smtp", name: "ops", host: "mail", from: "phalanx@example.com", to: ["ops@example.com"], auth: { user: "u" } },
    ] },
  } as never);
  await assert.rejects(loadNodeConfig(configFile), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /config\.yaml:\d+:\d+: alerts\.channels\[0\]\.url/);
    assert.match(err.message, /http:\/\/ or https:\/\//);
    assert.match(err.message, /give exactly one of password and passwordFile/);
    assert.match(err.message, /Channel name "ops" is used twice/);
    return true;
  });
  // A valid section loads, with defaults filled in.
  const good = (await readFile(configFile, "utf8")).replace(/alerts:[\s\S]*$/, "alerts:\n  channels:\n    - { type: exec, name: pager, command: ./notify.sh }\n");
  await writeFile(configFile, good);
  const config = await loadNodeConfig(configFile);
  assert.equal(config.alerts.channels[0]?.type, "exec");
  assert.equal(config.alerts.delivery.maxPendingPerChannel, DEFAULT_DELIVERY.maxPendingPerChannel);
});
