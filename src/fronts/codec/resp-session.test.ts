import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RespReplyParser, type RespValue } from "./resp-reply-parser.js";
import { RespRequestParser } from "./resp-parser.js";
import { DEFAULT_CONFIG_ANSWERS, RespSession, type RespSessionOptions } from "./resp-session.js";
import { RespWriter } from "./resp-writer.js";
import { bytesOf, textOf } from "./testdata/wire.js";

const OPTIONS: RespSessionOptions = {
  authToken: bytesOf("s3cret"),
  clientId: 7,
  serverVersion: "7.2.0",
  databases: 16,
  config: DEFAULT_CONFIG_ANSWERS,
};

/** A session on a fresh connection, and a way to send it one inline-style command. */
function connect(options: Partial<RespSessionOptions> = {}) {
  const parser = new RespRequestParser();
  const session = new RespSession({ ...OPTIONS, ...options }, parser);
  const writer = new RespWriter(2);
  const send = (line: string) => {
    const outcome = session.handle(line.split(" ").map(bytesOf), writer);
    const replies = new RespReplyParser().feed(writer.take());
    return { outcome, reply: replies.map(show).join(" ") };
  };
  return { session, parser, writer, send };
}

function show(v: RespValue): string {
  switch (v.type) {
    case "simple":
      return `+${v.text}`;
    case "error":
      return `-${v.text}`;
    case "integer":
      return `:${v.value}`;
    case "bulk":
      return `$${textOf(v.value)}`;
    case "null":
      return "_";
    case "array":
    case "set":
    case "push":
      return `[${v.items.map(show).join(",")}]`;
    case "map":
      return `{${v.entries.map(([k, x]) => `${show(k)}=${show(x)}`).join(",")}}`;
    default:
      return JSON.stringify(v);
  }
}

describe("RespSession: authentication", () => {
  it("refuses data commands before AUTH with NOAUTH, then accepts them", () => {
    const { send } = connect();
    assert.equal(send("GET k").reply, "-NOAUTH Authentication required.");
    assert.equal(send("AUTH wrong").reply, "-WRONGPASS invalid username-password pair or user is disabled.");
    assert.equal(send("AUTH s3cret").reply, "+OK");
    assert.deepEqual(send("GET k").outcome.kind, "data");
  });

  it("accepts AUTH default <password> and refuses other users", () => {
    assert.equal(connect().send("AUTH default s3cret").reply, "+OK");
    assert.equal(connect().send("AUTH admin s3cret").reply, "-WRONGPASS invalid username-password pair or user is disabled.");
    assert.equal(connect().send("AUTH a b c").reply, "-ERR syntax error");
  });

  it("makes a connection admin only when AUTH or HELLO AUTH presents the admin token", () => {
    const client = connect({ adminToken: bytesOf("adm1n") });
    assert.equal(client.send("AUTH s3cret").reply, "+OK");
    assert.equal(client.session.isAdmin, false);
    const admin = connect({ adminToken: bytesOf("adm1n") });
    assert.equal(admin.send("AUTH adm1n").reply, "+OK");
    assert.equal(admin.session.isAdmin, true);
    assert.equal(admin.session.isAuthenticated, true);
    const viaHello = connect({ adminToken: bytesOf("adm1n") });
    viaHello.send("HELLO 2 AUTH default adm1n");
    assert.equal(viaHello.session.isAdmin, true);
    const none = connect();
    assert.match(none.send("AUTH adm1n").reply, /^-WRONGPASS/);
  });

  it("lifts the parser's pre-AUTH limits once authenticated", () => {
    const { parser, send } = connect();
    const big = bytesOf(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20000\r\n${"v".repeat(20000)}\r\n`);
    assert.equal(new RespRequestParser().feed(big)[0]?.type, "command", "sanity: fine without auth");
    send("AUTH s3cret");
    assert.equal(parser.feed(big)[0]?.type, "command");
  });

  it("keeps pre-AUTH limits until then (a 20 KB bulk is refused)", () => {
    const { parser } = connect();
    const frames = parser.feed(bytesOf(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20000\r\n`));
    assert.equal(frames[0]?.type === "error" && frames[0].message, "ERR Protocol error: unauthenticated bulk length");
  });

  it("without a configured token everything is open and AUTH says so in Redis's words", () => {
    const { send } = connect({ authToken: null });
    assert.equal(send("GET k").outcome.kind, "data");
    assert.match(send("AUTH x").reply, /^-ERR AUTH <password> called without any password configured/);
  });

  it("checks existence and arity before the NOAUTH gate, as Redis does", () => {
    const { send } = connect();
    assert.equal(send("BOGUS a").reply, "-ERR unknown command 'BOGUS', with args beginning with: 'a' ");
    assert.equal(send("GET").reply, "-ERR wrong number of arguments for 'get' command");
  });
});

describe("RespSession: HELLO", () => {
  it("HELLO 3 AUTH switches to RESP3 and answers a map", () => {
    const { send, writer, session } = connect();
    const { reply } = send("HELLO 3 AUTH default s3cret SETNAME app");
    assert.equal(reply, "{$server=$redis,$version=$7.2.0,$proto=:3,$id=:7,$mode=$standalone,$role=$master,$modules=[]}");
    assert.equal(writer.protocol, 3);
    assert.equal(session.protocol, 3);
    assert.equal(send("CLIENT GETNAME").reply, "$app");
  });

  it("HELLO without AUTH on a protected server is NOAUTH and changes nothing", () => {
    const { send, session } = connect();
    assert.match(send("HELLO 3").reply, /^-NOAUTH HELLO must be called with the client already authenticated/);
    assert.equal(session.protocol, 2);
  });

  it("HELLO with a bad password is WRONGPASS; an unknown version is NOPROTO (ioredis then falls back)", () => {
    assert.equal(connect().send("HELLO 3 AUTH default nope").reply, "-WRONGPASS invalid username-password pair or user is disabled.");
    assert.equal(connect({ authToken: null }).send("HELLO 4").reply, "-NOPROTO unsupported protocol version");
  });

  it("HELLO alone keeps the protocol and still answers", () => {
    // In RESP2 the map is a flat array.
    assert.match(connect({ authToken: null }).send("HELLO").reply, /\$proto,:2,/);
  });
});

describe("RespSession: connection commands", () => {
  const open = () => connect({ authToken: null }).send;

  it("PING, PING msg, ECHO", () => {
    const send = open();
    assert.equal(send("PING").reply, "+PONG");
    assert.equal(send("PING hi").reply, "$hi");
    assert.equal(send("PING a b").reply, "-ERR wrong number of arguments for 'ping' command");
    assert.equal(send("ECHO hi").reply, "$hi");
  });

  it("QUIT answers OK and closes", () => {
    assert.deepEqual(open()("QUIT"), { outcome: { kind: "close", replied: true }, reply: "+OK" });
  });

  it("a POST or Host: line closes without a reply (cross-protocol scripting)", () => {
    assert.deepEqual(open()("POST / HTTP/1.1"), { outcome: { kind: "close", replied: false }, reply: "" });
    assert.deepEqual(open()("Host: x"), { outcome: { kind: "close", replied: false }, reply: "" });
  });

  it("SELECT switches the database within range", () => {
    const { send, session } = connect({ authToken: null });
    assert.equal(send("SELECT 3").reply, "+OK");
    assert.equal(session.db, 3);
    assert.equal(send("SELECT 16").reply, "-ERR DB index is out of range");
    assert.equal(send("SELECT -1").reply, "-ERR DB index is out of range");
    assert.equal(send("SELECT x").reply, "-ERR value is not an integer or out of range");
    assert.equal(session.db, 3);
  });

  it("CLIENT SETINFO, SETNAME, GETNAME, ID and an unknown subcommand", () => {
    const { send, session } = connect({ authToken: null });
    assert.equal(send("CLIENT SETINFO lib-name node-redis").reply, "+OK");
    assert.equal(send("CLIENT SETINFO LIB-VER 5.0.0").reply, "+OK");
    assert.equal(session.libName, "node-redis");
    assert.equal(session.libVersion, "5.0.0");
    assert.equal(send("CLIENT SETINFO bogus x").reply, "-ERR Unrecognized option 'bogus'");
    assert.equal(send("CLIENT GETNAME").reply, "_");
    assert.equal(send("CLIENT SETNAME web-1").reply, "+OK");
    assert.equal(send("CLIENT GETNAME").reply, "$web-1");
    assert.equal(send("CLIENT ID").reply, ":7");
    assert.equal(send("CLIENT KILL x").reply, "-ERR unknown subcommand 'KILL'. Try CLIENT HELP.");
    assert.equal(send("CLIENT ID x").reply, "-ERR wrong number of arguments for 'client|id' command");
  });

  it("CLIENT SETNAME refuses a name with a control byte", () => {
    const { session, writer } = connect({ authToken: null });
    session.handle([bytesOf("CLIENT"), bytesOf("SETNAME"), bytesOf("a\nb")], writer);
    assert.equal(new RespReplyParser().feed(writer.take()).map(show).join(), "-ERR Client names cannot contain spaces, newlines or special characters.");
  });

  it("COMMAND COUNT, COMMAND INFO, COMMAND DOCS", () => {
    const send = open();
    assert.match(send("COMMAND COUNT").reply, /^:\d+$/);
    assert.match(send("COMMAND INFO get nosuch").reply, /^\[\[\$get,:2,.*\],_\]$/);
    assert.equal(send("COMMAND DOCS").reply, "[]");
    assert.equal(send("COMMAND BOGUS").reply, "-ERR unknown subcommand 'BOGUS'. Try COMMAND HELP.");
  });

  it("COMMAND lists every command", () => {
    const { send } = connect({ authToken: null });
    const { reply } = send("COMMAND");
    assert.ok(reply.includes("[$hgetall,:2,"), reply.slice(0, 200));
  });

  it("CONFIG GET answers harmless constants by glob; CONFIG SET is refused", () => {
    const send = open();
    assert.equal(send("CONFIG GET save").reply, "[$save,$]");
    assert.equal(send("CONFIG GET maxmemory*").reply, "[$maxmemory,$0,$maxmemory-policy,$noeviction]");
    assert.equal(send("CONFIG GET nosuch").reply, "[]");
    assert.match(send("CONFIG SET save x").reply, /^-ERR CONFIG SET is not supported/);
  });

  it("hands data commands back with their spec", () => {
    const { outcome } = open()("SET k v EX 10");
    assert.ok(outcome.kind === "data");
    assert.equal(outcome.spec.name, "set");
  });
});
