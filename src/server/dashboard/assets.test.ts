import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServerResponse } from "node:http";
import { DASHBOARD_FILES, DASHBOARD_STATIC_DIR, DashboardAssets } from "./assets.js";

/** Records what serve() writes. */
function recorder(): { res: ServerResponse; out: { status: number; headers: Record<string, string>; body: Buffer } } {
  const out = { status: 0, headers: {} as Record<string, string>, body: Buffer.alloc(0) };
  const res = {
    writeHead(status: number, headers: Record<string, string>) {
      out.status = status;
      out.headers = headers;
    },
    end(body: string | Buffer) {
      out.body = Buffer.from(body);
    },
  } as unknown as ServerResponse;
  return { res, out };
}

test("the static folder holds exactly the files served (a new file must be listed in DASHBOARD_FILES)", async () => {
  assert.deepEqual((await readdir(DASHBOARD_STATIC_DIR)).sort(), [...DASHBOARD_FILES].sort());
});

test("DashboardAssets serves index.html at /dashboard with its content type and security headers", async () => {
  const { res, out } = recorder();
  await new DashboardAssets().serve("/dashboard", res);
  assert.equal(out.status, 200);
  assert.match(out.headers["content-type"] ?? "", /^text\/html/);
  assert.match(out.headers["content-security-policy"] ?? "", /frame-ancestors 'none'/);
  assert.equal(out.headers["x-content-type-options"], "nosniff");
  assert.match(out.body.toString(), /<script type="module" src="\/dashboard\/app.js">/);
  assert.deepEqual(DashboardAssets.paths().slice(0, 2), ["/dashboard", "/dashboard/index.html"]);
});

test("DashboardAssets names the folder and what to do when its files are missing", async (t) => {
  const empty = await mkdtemp(join(tmpdir(), "phalanx-dash-"));
  t.after(() => rm(empty, { recursive: true, force: true }));
  const { res } = recorder();
  await assert.rejects(new DashboardAssets(empty).serve("/dashboard", res), (err: Error) => err.message.includes(join(empty, "index.html")) && /must ship beside dist/.test(err.message));
});
