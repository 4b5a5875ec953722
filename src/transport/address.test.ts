import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatHostPort, parseHostPort } from "./address.js";

describe("peer addresses", () => {
  it("parse host:port and [ipv6]:port, and format back", () => {
    assert.deepEqual(parseHostPort("127.0.0.1:7000"), { host: "127.0.0.1", port: 7000 });
    assert.deepEqual(parseHostPort("[::1]:7000"), { host: "::1", port: 7000 });
    assert.deepEqual(parseHostPort("n1.example.net:1"), { host: "n1.example.net", port: 1 });
    assert.equal(formatHostPort("::1", 7000), "[::1]:7000");
    assert.equal(formatHostPort("10.0.0.1", 7000), "10.0.0.1:7000");
  });

  it("refuse anything else with the expected form in the message", () => {
    for (const bad of ["::1:7000", "host", "host:0", "host:70000", ":7000", "[::1]"]) {
      assert.throws(() => parseHostPort(bad), /expected host:port or \[ipv6\]:port/, bad);
    }
  });
});
