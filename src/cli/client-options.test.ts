// Which token a command sends: the client token for KV and views, the admin token for cluster operations.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adminTokenFrom, clientFrom } from "./client-options.js";

test("a cluster operation without an admin token fails before sending anything, naming the three ways to give one", (t) => {
  const saved = process.env.PHALANX_ADMIN_TOKEN;
  delete process.env.PHALANX_ADMIN_TOKEN;
  t.after(() => {
    if (saved !== undefined) process.env.PHALANX_ADMIN_TOKEN = saved;
  });
  assert.throws(() => clientFrom({ endpoints: "127.0.0.1:1", token: "client" }, "admin"), /needs the admin token: pass --admin-token, --admin-token-file <dir>\/admin-token, or set PHALANX_ADMIN_TOKEN/);
});

test("the admin token comes from --admin-token, else --admin-token-file, else $PHALANX_ADMIN_TOKEN", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-cli-"));
  const saved = process.env.PHALANX_ADMIN_TOKEN;
  t.after(async () => {
    if (saved === undefined) delete process.env.PHALANX_ADMIN_TOKEN;
    else process.env.PHALANX_ADMIN_TOKEN = saved;
    await rm(dir, { recursive: true, force: true });
  });
  const file = join(dir, "admin-token");
  await writeFile(file, "from-file\n");
  process.env.PHALANX_ADMIN_TOKEN = "from-env";
  assert.equal(adminTokenFrom({ adminToken: "from-flag", adminTokenFile: file }), "from-flag");
  assert.equal(adminTokenFrom({ adminTokenFile: file }), "from-file");
  assert.equal(adminTokenFrom({}), "from-env");
});
