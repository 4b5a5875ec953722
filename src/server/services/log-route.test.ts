import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readInstanceLog } from "./log-route.js";

const req = (query: string): IncomingMessage => ({ url: `/v3/phalanx/logs?${query}` }) as IncomingMessage;

test("readInstanceLog tails from a line start, follows from an offset, starts over after a rotation, refuses odd names", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-logs-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, "web"));
  const file = join(dir, "web", "web-1-0.log");
  await writeFile(file, "first line\nsecond line\nthird line\n");
  const tail = await readInstanceLog(dir, req("service=web&instance=web-1-0&tail=15"));
  assert.equal(tail.text, "third line\n");
  assert.equal(tail.next, tail.size);
  await writeFile(file, "first line\nsecond line\nthird line\nfourth\n");
  const more = await readInstanceLog(dir, req(`service=web&instance=web-1-0&from=${tail.next}`));
  assert.equal(more.text, "fourth\n");
  await writeFile(file, "new\n"); // rotated: shorter than the offset
  assert.equal((await readInstanceLog(dir, req(`service=web&instance=web-1-0&from=${more.next}`))).text, "new\n");
  await assert.rejects(readInstanceLog(dir, req("service=../etc&instance=passwd")), /Name a service and an instance/);
  await assert.rejects(readInstanceLog(dir, req("service=web&instance=nope")), /No log of instance nope of web on this node/);
  await assert.rejects(readInstanceLog(undefined, req("service=web&instance=web-1-0")), /services\.logDir/);
});
