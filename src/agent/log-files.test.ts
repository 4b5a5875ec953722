// Instance log files: lines appended with time and stream, rotated by size with a bounded number kept.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { instanceLogPath, openInstanceLog } from "./log-files.js";

test("lines are appended with time and stream; the files rotate at the size and only keepFiles are kept", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "phalanx-logs-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = openInstanceLog(dir, "web", "web-1", { rotation: { maxFileBytes: 200, keepFiles: 2 } });
  const at = Date.UTC(2026, 0, 2, 3, 4, 5);
  file.write("stdout", "hello", at);
  file.write("stderr", "oops", at);
  file.flush();
  const live = instanceLogPath(dir, "web", "web-1");
  assert.equal(readFileSync(live, "utf8"), "2026-01-02T03:04:05.000Z stdout hello\n2026-01-02T03:04:05.000Z stderr oops\n");
  for (let i = 0; i < 40; i++) {
    file.write("stdout", `line ${i}`, at);
    file.flush(); // one batch per line: rotation is decided per batch
  }
  file.close();
  assert.ok(existsSync(`${live}.1`) && existsSync(`${live}.2`));
  assert.equal(existsSync(`${live}.3`), false, "no more than keepFiles rotated files");
  for (const p of [live, `${live}.1`, `${live}.2`]) assert.ok(statSync(p).size <= 200, `${p} within the size`);
  assert.match(readFileSync(live, "utf8"), /stdout line 39\n$/, "the newest line is in the live file");
  const all = [`${live}.2`, `${live}.1`, live].map((p) => readFileSync(p, "utf8")).join("");
  const numbers = [...all.matchAll(/line (\d+)/g)].map((m) => Number(m[1]));
  assert.deepEqual(numbers, numbers.slice().sort((a, b) => a - b), "files in order oldest to newest");
  assert.equal(numbers.at(-1), 39);
});

test("a failed write gives the file up and reports it instead of throwing", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "phalanx-logs-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const errors: Error[] = [];
  const file = openInstanceLog(dir, "web", "web-1", { rotation: { maxFileBytes: 10, keepFiles: 1 }, onError: (e) => errors.push(e) });
  file.write("stdout", "first line that fills the file");
  file.flush();
  rmSync(join(dir, "web"), { recursive: true }); // rotation's reopen now fails: ENOENT
  file.write("stdout", "second");
  file.flush();
  assert.equal(errors.length, 1);
  assert.match(errors[0]?.message ?? "", /ENOENT/);
  file.write("stdout", "third");
  file.close();
  assert.equal(errors.length, 1, "given up: no further attempts");
});
