// The demo's parts without a cluster: the service file it applies, the in-place terminal writer,
// and the bundled app (demo/app.mjs) run on its own.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { parseServiceFile } from "../../config/service-file.js";
import { DEMO_APP_FILE, demoServiceFile } from "./demo-services.js";
import { InPlaceWriter } from "./demo-view.js";
import { freePort } from "./dev.js";

test("the demo's service file is valid: web with 3 replicas spread by zone, the singleton active/standby, both exposed", () => {
  const parsed = parseServiceFile(demoServiceFile({ webPort: 18080, singletonPort: 18081 }), "services.yaml");
  assert.ok(parsed.ok, JSON.stringify(parsed));
  const [web, single] = parsed.value;
  assert.equal(web?.name, "web");
  assert.equal(web?.replicas, 3);
  assert.deepEqual({ spreadBy: web?.placement.spreadBy, maxPerNode: web?.placement.maxPerNode }, { spreadBy: "zone", maxPerNode: 2 });
  assert.equal(web?.expose?.listen.port, 18080);
  assert.equal(single?.name, "singleton");
  assert.deepEqual({ mode: single?.mode, standbys: single?.standbys }, { mode: "active-standby", standbys: 1 });
  assert.equal(single?.expose?.listen.port, 18081);
  assert.deepEqual(web?.run, { command: process.execPath, args: [DEMO_APP_FILE] });
  assert.ok(existsSync(DEMO_APP_FILE), `${DEMO_APP_FILE} is missing: the package must ship demo/app.mjs`);
});

function fakeTerminal(columns: number, rows: number): { stream: NodeJS.WriteStream; writes: string[] } {
  const writes: string[] = [];
  const stream = { columns, rows, write: (t: string) => writes.push(t) > 0 } as unknown as NodeJS.WriteStream;
  return { stream, writes };
}

test("InPlaceWriter redraws over exactly the previous block, cut to the terminal's width and height", () => {
  const { stream, writes } = fakeTerminal(30, 6);
  const w = new InPlaceWriter(stream);
  w.draw(["one", "two", "a line far too long to fit in thirty columns"]);
  assert.equal(writes[0], "\x1b[Jone\ntwo\na line far too long to fit in\n");
  w.draw(["x"]);
  assert.equal(writes[1], "\x1b[3F\x1b[Jx\n");
  w.draw(["1", "2", "3", "4", "5", "6", "7", "8"]);
  assert.equal(writes[2], "\x1b[1F\x1b[J1\n2\n3\n4\n(4 more lines: enlarge the te\n");
  w.draw(["y"]);
  assert.equal(writes[3], "\x1b[5F\x1b[Jy\n");
});

test("the bundled app answers /, /stats (not counted) and /healthz, and stops on SIGTERM", async (t) => {
  const port = await freePort();
  const app = spawn(process.execPath, [DEMO_APP_FILE], { env: { ...process.env, PORT: String(port), DEMO_SERVICE: "web" }, stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<number | null>((r) => app.once("exit", (code) => r(code)));
  t.after(() => void app.kill("SIGKILL"));
  await new Promise<void>((resolve) => app.stdout!.on("data", (d: Buffer) => d.toString().includes("serving") && resolve()));
  const get = async (path: string): Promise<{ status: number; body: string }> => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: r.status, body: await r.text() };
  };
  assert.equal((await get("/healthz")).status, 200);
  const first = JSON.parse((await get("/")).body) as { service: string; port: number; served: number };
  assert.deepEqual({ service: first.service, port: first.port, served: first.served }, { service: "web", port, served: 1 });
  assert.equal((JSON.parse((await get("/stats")).body) as { served: number }).served, 1);
  assert.equal((JSON.parse((await get("/")).body) as { served: number }).served, 2);
  app.kill("SIGTERM");
  assert.equal(await exited, 0);
});

test("the bundled app without $PORT says how to run it", async () => {
  const env = { ...process.env };
  delete env.PORT;
  const app = spawn(process.execPath, [DEMO_APP_FILE], { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  app.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => app.once("exit", (c) => r(c)));
  assert.equal(code, 2);
  assert.match(stderr, /^demo app: \$PORT is not set: run it through `phalanx demo`, or `PORT=8080 node demo\/app.mjs`\n$/);
});
