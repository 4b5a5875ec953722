import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RESP_COMMANDS, arityError, isWriteCommand, lookupCommand, writeCommandInfo, type RespCommandSpec } from "./resp-commands.js";
import { commandNameOf } from "./resp-errors.js";
import { RespReplyParser } from "./resp-reply-parser.js";
import { RespWriter } from "./resp-writer.js";
import { bytesOf } from "./testdata/wire.js";

function specOf(name: string): RespCommandSpec {
  const spec = lookupCommand(commandNameOf(bytesOf(name)));
  assert.ok(spec !== undefined, `${name} is not in the table`);
  return spec;
}

describe("the RESP front's command table", () => {
  it("holds every command issue 14 lists", () => {
    const listed = "ping quit auth hello select client info config command get set setex psetex setnx getdel getex del unlink exists expire pexpire expireat pexpireat ttl pttl persist mget mset incr incrby decr decrby type dbsize scan keys hset hget hmget hgetall hdel hexists hincrby flushdb";
    for (const name of listed.split(" ")) specOf(name);
  });

  it("looks commands up case-insensitively through commandNameOf", () => {
    assert.equal(specOf("gEt").name, "get");
    assert.equal(lookupCommand("NOSUCH"), undefined);
  });

  const arity: [string, number, string | null][] = [
    ["get", 2, null],
    ["get", 3, "ERR wrong number of arguments for 'get' command"],
    ["set", 2, "ERR wrong number of arguments for 'set' command"],
    ["set", 7, null],
    ["del", 1, "ERR wrong number of arguments for 'del' command"],
    ["del", 9, null],
    ["mset", 5, null],
    ["mset", 4, "ERR wrong number of arguments for 'mset' command"],
    ["hset", 4, null],
    ["hset", 6, null],
    ["hset", 5, "ERR wrong number of arguments for 'hset' command"],
    ["ping", 1, null],
    ["dbsize", 2, "ERR wrong number of arguments for 'dbsize' command"],
  ];
  for (const [name, argc, want] of arity) {
    it(`${name} with ${argc} arguments (name included) → ${want ?? "ok"}`, () => assert.equal(arityError(specOf(name), argc), want));
  }

  it("marks writes, reads and the admin-only FLUSHDB", () => {
    assert.equal(isWriteCommand(specOf("set")), true);
    assert.equal(isWriteCommand(specOf("expire")), true);
    assert.equal(isWriteCommand(specOf("get")), false);
    assert.equal(isWriteCommand(specOf("scan")), false);
    assert.equal(specOf("flushdb").admin, true);
    assert.equal([...RESP_COMMANDS.values()].filter((s) => s.admin).map((s) => s.name).join(), "flushdb");
  });

  it("writes COMMAND INFO entries in Redis 7's ten-field shape", () => {
    const w = new RespWriter(2);
    writeCommandInfo(w, specOf("mset"));
    const [reply] = new RespReplyParser().feed(w.take());
    assert.ok(reply?.type === "array");
    assert.equal(reply.items.length, 10);
    const [name, arityReply, flags, first, last, step] = reply.items;
    assert.deepEqual([name, arityReply, first, last, step].map((v) => (v?.type === "bulk" ? new TextDecoder().decode(v.value) : v?.type === "integer" ? Number(v.value) : "?")), ["mset", -3, 1, -1, 2]);
    assert.ok(flags?.type === "array" && flags.items.some((f) => f.type === "simple" && f.text === "write"));
  });
});
