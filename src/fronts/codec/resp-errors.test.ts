import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { commandNameOf, unknownCommandError, unknownSubcommandError, wrongArityError } from "./resp-errors.js";
import { bytesOf } from "./testdata/wire.js";

const args = (...xs: string[]) => xs.map(bytesOf);

describe("Redis's command error wording", () => {
  it("unknown command echoes the name and quoted arguments with Redis's trailing space", () => {
    assert.equal(unknownCommandError(args("FOO", "a", "b")), "ERR unknown command 'FOO', with args beginning with: 'a' 'b' ");
    assert.equal(unknownCommandError(args("HELLO", "3")), "ERR unknown command 'HELLO', with args beginning with: '3' ");
    assert.equal(unknownCommandError(args("foo")), "ERR unknown command 'foo', with args beginning with: ");
  });

  it("echoes at most about 128 characters of arguments", () => {
    const msg = unknownCommandError(args("X", "a".repeat(100), "b".repeat(100), "c"));
    assert.ok(msg.includes(`'${"a".repeat(100)}' '${"b".repeat(128 - 103)}' `), msg);
    assert.ok(!msg.includes("'c'"));
  });

  it("cuts an argument at a NUL byte, as Redis's C strings do", () => {
    assert.equal(unknownCommandError(args("X", "a\u0000b")), "ERR unknown command 'X', with args beginning with: 'a' ");
  });

  it("wrong arity and unknown subcommand", () => {
    assert.equal(wrongArityError("GET"), "ERR wrong number of arguments for 'get' command");
    assert.equal(unknownSubcommandError("client", bytesOf("bogus")), "ERR unknown subcommand 'bogus'. Try CLIENT HELP.");
  });

  it("command names are case-insensitive", () => {
    assert.equal(commandNameOf(bytesOf("sEt")), "SET");
    assert.equal(commandNameOf(bytesOf("client")), "CLIENT");
  });
});
